// The jobs pages: the list, one job (card, steps, log) with its cancel and retry buttons, and a test
// stage's report.
import type { JobStatusView } from '../../types.ts';
import type { Viewer } from '../guard.ts';
import { RECENT_JOBS } from '../job-feed.ts';
import { jobBody, jobCard, jobsBody, logBlock, reportBody } from '../pages/jobs.ts';
import { refusedBody } from '../pages/notices.ts';
import { act } from './page-action.ts';
import type { RouteContext } from './route-context.ts';

export const JOB_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
export const LOG_LINES = 200;

/** What a job card needs beside the job: its step names and the buttons the viewer may press. */
export function jobCardParts(context: Pick<RouteContext, 'config' | 'guard'>) {
  const { config, guard } = context;
  const stepNames = (view: JobStatusView) =>
    (config.products[view.product]?.stages[view.stage]?.steps ?? []).map((step) => step.name);
  const controlsFor = (viewer: Viewer, view: JobStatusView) => ({
    csrf: viewer.session.csrf,
    cancel: guard.may(viewer.principal, 'cancel'),
    retry: guard.may(viewer.principal, 'retry'),
    report: view.stage === 'test' && guard.may(viewer.principal, 'report'),
  });
  return { stepNames, controlsFor };
}

export function registerJobRoutes(context: RouteContext): void {
  const { app, core, now, guard } = context;
  const { guarded, page, may } = guard;
  const { stepNames, controlsFor } = jobCardParts(context);
  app.get(
    '/jobs',
    guarded('jobs', async (viewer, _request, reply) => {
      const views = await core.jobs.list(RECENT_JOBS);
      return page(reply, viewer, 'Jobs', '/jobs', jobsBody(views, now()), { live: '/events' });
    }),
  );
  app.get<{ Params: { id: string } }>(
    '/jobs/:id',
    guarded('status', async (viewer, request, reply) => {
      const id = (request.params as { id: string }).id;
      const view = JOB_ID.test(id) ? await core.jobs.get(id) : undefined;
      if (!view)
        return page(reply, viewer, 'No such job', '/jobs', refusedBody(`no job ${id}`), { status: 404 });
      const card = jobCard(view, stepNames(view), controlsFor(viewer, view), now());
      const log = may(viewer.principal, 'log') ? logBlock(await core.jobs.logs(id, LOG_LINES)) : undefined;
      return page(reply, viewer, `Job ${id}`, '/jobs', jobBody(card, log), {
        live: `/events?job=${encodeURIComponent(id)}`,
      });
    }),
  );
  app.get<{ Params: { id: string } }>(
    '/jobs/:id/report',
    guarded('report', async (viewer, request, reply) => {
      const id = (request.params as { id: string }).id;
      const view = JOB_ID.test(id) ? await core.jobs.get(id) : undefined;
      const report = view ? await core.catalog.report(id) : undefined;
      if (!view || !report) {
        return page(reply, viewer, 'No report', '/jobs', refusedBody(`job ${id} left no test report`), {
          status: 404,
        });
      }
      return page(reply, viewer, `Test report of ${id}`, '/jobs', reportBody(view, report));
    }),
  );
  for (const action of ['cancel', 'retry'] as const) {
    app.post<{ Params: { id: string } }>(
      `/jobs/:id/${action}`,
      guarded(action, async (viewer, request, reply) => {
        const id = (request.params as { id: string }).id;
        if (!JOB_ID.test(id)) return reply.code(404).send();
        return act(context, viewer, reply, `${action} ${id}`, {
          href: `/jobs/${id}`,
          label: `Back to job ${id}`,
        });
      }),
    );
  }
}
