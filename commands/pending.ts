// `pending`: the requests waiting for an approval, soonest to expire first.
import ms from 'ms';
import type { CommandSpec } from '../src/grammar/command-spec.ts';

export const command: CommandSpec = {
  name: 'pending',
  aliases: ['requests'],
  summary: 'list requests waiting for approval',
  description:
    'Shows each open request: its id, the command, who asked and where, whom it was sent to, and when it expires.',
  examples: ['pending'],
  access: 'known',
  args: [],
  async run(ctx) {
    const open = await ctx.approvals.pending();
    if (open.length === 0) return { reply: { tone: 'info', text: 'No requests are waiting for approval.' } };
    const now = ctx.oncall.now();
    const lines = open.map((r) => {
      const age = ms(Math.max(1000, now - r.createdAt), { long: true });
      const left = ms(Math.max(1000, r.expiresAt - now), { long: true });
      const asked = r.notified.length > 0 ? r.notified.join(', ') : 'nobody yet';
      return `${r.id}  ${r.text} — asked by ${r.requester} ${age} ago in ${r.room}; sent to ${asked}; expires in ${left}`;
    });
    const header = `${open.length} request${open.length === 1 ? '' : 's'} waiting (approve <id> or deny <id> [reason]):`;
    return { reply: { tone: 'info', text: [header, ...lines].join('\n') } };
  },
};
