// `approve <request>`: lets a command that waits for an approval run, exactly as it was asked.
import type { CommandSpec } from '../src/grammar/command-spec.ts';

export const command: CommandSpec = {
  name: 'approve',
  summary: 'approve a waiting request',
  description:
    'Lets a command that waits for approval run, exactly as it was asked, as the person who asked. Only an approver (or, with policy.approvals.approvedBy: oncall, only the approver on call), from any network, and never the person who asked, whichever of their accounts they use. An answered or expired request cannot be answered again.',
  examples: ['approve r-7f3k2a'],
  access: 'approver',
  args: [{ name: 'request', kind: 'request' }],
  async run(ctx, args) {
    return ctx.approvals.answer({
      id: args.words.request ?? '',
      by: ctx.principal,
      where: ctx.message.target,
      decision: 'approve',
    });
  },
};
