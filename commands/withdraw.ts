// `withdraw <request>`: the person who asked for an approval takes the request back.
import type { CommandSpec } from '../src/grammar/command-spec.ts';

export const command: CommandSpec = {
  name: 'withdraw',
  summary: 'take back a request of yours that waits for approval',
  description:
    'Cancels a request you made (a revoke, a production deploy, …) before anyone answered it; the room that asked is told. Only the person who asked may withdraw; approvers refuse with deny.',
  examples: ['withdraw r-7f3k2a', 'withdraw r-7f3k2a wrong version'],
  access: 'operator',
  args: [
    { name: 'request', kind: 'request' },
    { name: 'reason', kind: 'text', optional: true },
  ],
  async run(ctx, args) {
    return ctx.approvals.answer({
      id: args.words.request ?? '',
      by: ctx.principal,
      where: ctx.message.target,
      decision: 'withdraw',
      ...(args.text ? { reason: args.text } : {}),
    });
  },
};
