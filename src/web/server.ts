// The web console: a fastify app served by the bot. Pages are rendered on the server (src/web/pages/)
// and kept live with server-sent events (job-feed.ts). Sign-in is a one-time link from `login` in a
// direct message (sessions.ts); every change is a POST that carries the session's CSRF token
// (csrf.ts) and runs as a chat command of the signed-in person through the bot's own pipeline
// (web-adapter.ts), so roles, policy, approvals and the audit trail apply exactly as in chat. The
// download area (<dataDir>/downloads) is served read-only.
//
// This file composes the console: the guard (guard.ts: host check, sign-in, CSRF, who may see a page)
// and one route module per page (routes/).
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import Fastify from 'fastify';
import type { WebConsole, WebConsoleOptions } from './console-context.ts';
import { createGuard, installHostCheck } from './guard.ts';
import { JobFeed } from './job-feed.ts';
import { registerOpsRoutes } from './ops-routes.ts';
import { layout } from './pages/layout.ts';
import { refusedBody } from './pages/notices.ts';
import { registerApprovalRoutes } from './routes/approvals.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { registerEventRoutes } from './routes/events.ts';
import { registerFileRoutes } from './routes/files.ts';
import { registerImageRoutes } from './routes/images.ts';
import { registerJobRoutes } from './routes/jobs.ts';
import type { RouteContext } from './routes/route-context.ts';
import { registerSignInRoutes } from './routes/sign-in.ts';
import { registerWorkerRoutes } from './routes/workers.ts';

export type { WebConsole, WebConsoleOptions } from './console-context.ts';

/** Fastify's own packages, resolved from fastify (they are its dependencies, not ours). */
const fromFastify = createRequire(import.meta.resolve('fastify'));

/**
 * Fastify's schema compilers (ajv and fast-json-stringify, about a hundred modules and a third of the
 * console's load time) are loaded only if a route declares a schema to validate or serialize with;
 * the console's routes declare none, so its start loads neither.
 */
const SCHEMA_COMPILERS_ON_USE = {
  buildValidator: (...args: unknown[]) => fromFastify('@fastify/ajv-compiler')()(...args),
  buildSerializer: (...args: unknown[]) => fromFastify('@fastify/fast-json-stringify-compiler')()(...args),
};

export async function startWebConsole(options: WebConsoleOptions): Promise<WebConsole> {
  const { config, core, adapter, log } = options;
  const now = options.now ?? Date.now;
  const feed = new JobFeed({ notifier: core.notifier, jobs: core.jobs });
  const guard = createGuard({ config, core, log, host: options.host });

  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    trustProxy: false,
    schemaController: { compilersFactory: SCHEMA_COMPILERS_ON_USE },
  });
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  installHostCheck(app, { config, core, log, host: options.host });

  // Health and metrics, for monitoring (no login; /metrics takes web.metricsToken when set).
  registerOpsRoutes(app, {
    metrics: core.metrics,
    health: core.health,
    metricsToken: config.web.metricsToken,
  });

  const context: RouteContext = { app, config, core, adapter, log, now, guard };
  registerSignInRoutes(context);
  registerJobRoutes(context);
  const live = registerEventRoutes(context, feed);
  registerImageRoutes(context);
  registerApprovalRoutes(context);
  registerWorkerRoutes(context);
  registerAuditRoutes(context);
  await registerFileRoutes(context, options.dataDir);

  app.setNotFoundHandler(async (_request, reply) =>
    guard.send(reply, 404, layout({ title: 'Not found', body: refusedBody('There is no such page.') })),
  );
  app.setErrorHandler(async (error, request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) log.error({ err: error, url: request.url }, 'web: request failed');
    return guard.send(
      reply,
      status,
      layout({
        title: 'Error',
        body: refusedBody(status >= 500 ? 'Something went wrong inside vmops.' : 'Bad request.'),
      }),
    );
  });

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address() as AddressInfo;
  // Listening on every address: links name loopback (set web.publicUrl for links others can open).
  const any = address.address === '0.0.0.0' || address.address === '::';
  const host = any ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  core.sessions.servedAt(url);
  log.info({ url }, 'web console listening');
  if (!config.web.metricsToken && !['127.0.0.1', '::1', 'localhost'].includes(options.host)) {
    log.warn(
      { host: options.host },
      'web console: /metrics is open to anyone who reaches this address; set web.metricsToken to require a bearer token',
    );
  }
  return {
    url,
    async close() {
      feed.close();
      live.close();
      await app.close();
    },
  };
}
