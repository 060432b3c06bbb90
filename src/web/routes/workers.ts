// The workers page: live workers and what they can do.
import { workersBody } from '../pages/workers.ts';
import type { RouteContext } from './route-context.ts';

export function registerWorkerRoutes({ app, core, now, guard }: RouteContext): void {
  app.get(
    '/workers',
    guard.guarded('agents', async (viewer, _request, reply) =>
      guard.page(reply, viewer, 'Workers', '/workers', workersBody(await core.liveWorkers(), now())),
    ),
  );
}
