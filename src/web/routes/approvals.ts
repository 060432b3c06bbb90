// The approvals page: pending requests, with approve, deny and withdraw buttons for those who may press
// them. The answer runs as a chat command, so the pipeline decides who may answer, as in chat.
import { showTime } from '../../oncall/rota.ts';
import { approvalsBody } from '../pages/approvals.ts';
import { act } from './page-action.ts';
import type { RouteContext } from './route-context.ts';

const REQUEST_ID = /^r-[a-z0-9]{4,16}$/;

/** A deny reason as one quoted word of the command, whatever quotes it holds. */
function quoted(reason: string): string {
  const clean = reason
    .replace(/[\p{Cc}\u2028\u2029]/gu, ' ')
    .trim()
    .slice(0, 300);
  if (clean === '') return '';
  if (!clean.includes('"')) return ` "${clean}"`;
  if (!clean.includes("'")) return ` '${clean}'`;
  return ` "${clean.replaceAll('"', "'").replaceAll("'", '')}"`;
}

export function registerApprovalRoutes(context: RouteContext): void {
  const { app, config, core, guard } = context;
  const { guarded, page, may } = guard;
  app.get(
    '/approvals',
    guarded('pending', async (viewer, _request, reply) => {
      const requests = await core.approvals.pending();
      const tz = config.oncall.timezone;
      const rule =
        config.policy.approvals.approvedBy === 'oncall'
          ? 'Only the person on call, or someone a request was sent to, may answer; never the person who asked.'
          : 'Approvers and the person on call may answer; never the person who asked.';
      return page(
        reply,
        viewer,
        'Approvals',
        '/approvals',
        approvalsBody(
          requests,
          {
            csrf: viewer.session.csrf,
            person: viewer.principal.id,
            answer: may(viewer.principal, 'approve'),
            withdraw: may(viewer.principal, 'withdraw'),
            time: (at) => showTime(at, tz),
          },
          rule,
        ),
      );
    }),
  );
  for (const decision of ['approve', 'deny', 'withdraw'] as const) {
    app.post<{ Params: { id: string } }>(
      `/approvals/:id/${decision}`,
      // The pipeline decides who may answer, as in chat; its refusal is the page's answer.
      guarded('pending', async (viewer, request, reply) => {
        const id = (request.params as { id: string }).id;
        if (!REQUEST_ID.test(id)) return reply.code(404).send();
        const reason =
          decision === 'approve' ? '' : quoted(String((request.body as { reason?: unknown })?.reason ?? ''));
        return act(context, viewer, reply, `${decision} ${id}${reason}`, {
          href: '/approvals',
          label: 'Back to approvals',
        });
      }),
    );
  }
}
