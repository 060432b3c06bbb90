// `deny <request> [reason…]`: refuses a waiting request; the person who asked may withdraw it this way.
import type { CommandSpec } from '../src/grammar/command-spec.ts';

export const command: CommandSpec = {
  name: 'deny',
  aliases: ['reject'],
  summary: 'refuse a waiting request, saying why',
  description:
    'Cancels a command that waits for approval; the reason is shown to the room that asked. An approver may deny; an approver who asked may withdraw their own request this way.',
  examples: ['deny r-7f3k2a', 'deny r-7f3k2a not during the conference'],
  access: 'approver',
  args: [
    { name: 'request', kind: 'request' },
    { name: 'reason', kind: 'text', optional: true },
  ],
  async run(ctx, args) {
    return ctx.approvals.answer({
      id: args.words.request ?? '',
      by: ctx.principal,
      where: ctx.message.target,
      decision: 'deny',
      ...(args.text ? { reason: args.text } : {}),
    });
  },
};
