// The audit trail page: the last 100 entries.
import { auditBody } from '../pages/audit.ts';
import type { RouteContext } from './route-context.ts';

export function registerAuditRoutes({ app, core, guard }: RouteContext): void {
  app.get(
    '/audit',
    guard.guarded('audit', async (viewer, _request, reply) =>
      guard.page(reply, viewer, 'Audit trail', '/audit', auditBody(await core.audit.recent(100))),
    ),
  );
}
