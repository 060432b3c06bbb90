// Live updates: server-sent events for the jobs list (a row per change) or one job (its card, and its
// log for those who may read it). A stream is kept alive past proxies and ends with the session.
import type { JobStatusView } from '../../types.ts';
import { SECURITY_HEADERS } from '../guard.ts';
import { type JobFeed, RECENT_JOBS } from '../job-feed.ts';
import { jobCard, jobRow, logBlock } from '../pages/jobs.ts';
import { JOB_ID, jobCardParts, LOG_LINES } from './jobs.ts';
import type { RouteContext } from './route-context.ts';

export interface LiveRoutes {
  /** Ends every open stream. */
  close(): void;
}

export function registerEventRoutes(context: RouteContext, feed: JobFeed): LiveRoutes {
  const { app, core, log, now, guard } = context;
  const { stepNames, controlsFor } = jobCardParts(context);
  const streams = new Set<{ end(): void }>();
  app.get('/events', async (request, reply) => {
    const viewer = await guard.viewerOf(request);
    if (!viewer) return reply.code(401).send();
    const jobId = (request.query as { job?: unknown }).job;
    if (jobId !== undefined && (typeof jobId !== 'string' || !JOB_ID.test(jobId)))
      return reply.code(404).send();
    if (!guard.may(viewer.principal, jobId === undefined ? 'jobs' : 'status')) return reply.code(403).send();
    const showLog = jobId !== undefined && guard.may(viewer.principal, 'log');
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...SECURITY_HEADERS,
    });
    res.write('retry: 3000\n\n');
    let queue = Promise.resolve();
    const push = (view: JobStatusView) => {
      queue = queue
        .then(async () => {
          const update: Record<string, string> = { jobId: view.jobId };
          if (jobId === undefined) update.row = jobRow(view, now()).value;
          else {
            update.card = jobCard(view, stepNames(view), controlsFor(viewer, view), now()).value;
            if (showLog) update.log = logBlock(await core.jobs.logs(view.jobId, LOG_LINES)).value;
          }
          if (!res.writableEnded) res.write(`event: job\ndata: ${JSON.stringify(update)}\n\n`);
        })
        .catch((error: unknown) => log.debug({ err: error }, 'web: live update failed'));
    };
    const unfollow = feed.follow(jobId, push);
    // The page may have been rendered just before a change: start from what holds now.
    const current =
      jobId === undefined ? (await core.jobs.list(RECENT_JOBS)).reverse() : [await core.jobs.get(jobId)];
    for (const view of current) if (view) push(view);
    const stream = {
      end: () => {
        clearInterval(beat);
        unfollow();
        streams.delete(stream);
        if (!res.writableEnded) res.end();
      },
    };
    // Keeps proxies from closing the stream, and ends it with the session.
    const beat = setInterval(() => {
      void core.sessions.session(viewer.sessionId).then(
        (alive) => (alive ? res.write(': alive\n\n') : stream.end()),
        () => undefined,
      );
    }, 15_000);
    streams.add(stream);
    request.raw.on('close', stream.end);
  });
  return {
    close() {
      for (const stream of [...streams]) stream.end();
    },
  };
}
