// Routes for operations, next to the console's pages and without a login: /healthz (the process is
// alive and Redis answers), /readyz (and every chat network is connected), both 200 or 503 with a JSON
// body naming what is down; and /metrics in the Prometheus text format, open unless `web.metricsToken`
// is set, in which case a scrape must send `Authorization: Bearer <token>`.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { BotHealth, HealthReport } from '../observability/health.ts';
import type { MetricsSink } from '../observability/metrics-sink.ts';
import { equalSecret } from './secret-compare.ts';

export interface OpsRoutesOptions {
  metrics: MetricsSink;
  health: BotHealth;
  /** A bearer token /metrics requires (web.metricsToken); unset: open. */
  metricsToken?: string | undefined;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  return equalSecret(token, /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1]);
}

export function registerOpsRoutes(app: FastifyInstance, options: OpsRoutesOptions): void {
  const answer = (reply: FastifyReply, health: HealthReport) =>
    reply
      .code(health.ok ? 200 : 503)
      .type('application/json; charset=utf-8')
      .send({ status: health.ok ? 'ok' : 'down', down: health.down, checks: health.checks });
  app.get('/healthz', async (_request, reply) => answer(reply, await options.health.live()));
  app.get('/readyz', async (_request, reply) => answer(reply, await options.health.ready()));
  app.get('/metrics', async (request, reply) => {
    const token = options.metricsToken;
    if (token !== undefined && !bearerMatches(request.headers.authorization, token)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="vmops metrics"')
        .type('text/plain; charset=utf-8')
        .send('/metrics needs Authorization: Bearer <web.metricsToken>\n');
    }
    const text = await options.metrics.text();
    return reply.code(200).type(options.metrics.contentType).send(text);
  });
}
