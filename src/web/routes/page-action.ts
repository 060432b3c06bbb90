// A page action (cancel, retry, approve, …): the command goes through the bot's pipeline as the
// signed-in person's direct message, so roles, policy, approvals and the audit trail apply as in chat.
import type { FastifyReply } from 'fastify';
import type { Viewer } from '../guard.ts';
import { resultBody } from '../pages/notices.ts';
import type { RouteContext } from './route-context.ts';

export async function act(
  context: Pick<RouteContext, 'adapter' | 'core' | 'guard'>,
  viewer: Viewer,
  reply: FastifyReply,
  text: string,
  back: { href: string; label: string },
) {
  const { result, replies } = await context.adapter.converse(viewer.principal.id, text, (message) =>
    context.core.handle(message),
  );
  const status = result.outcome === 'done' ? 200 : result.outcome === 'refused' ? 403 : 500;
  return context.guard.page(
    reply,
    viewer,
    status === 200 ? 'Done' : 'Not done',
    '',
    resultBody(replies, result.jobs, back),
    {
      status,
    },
  );
}
