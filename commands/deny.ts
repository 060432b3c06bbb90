// `deny <request> [reason…]`: refuses a waiting request (not available yet).
import type { CommandSpec } from '../src/command-spec.ts';
import { notAvailable } from './support/not-available.ts';

export const command: CommandSpec = {
  name: 'deny',
  summary: 'refuse a waiting request, saying why',
  description: 'Cancels a command that waits for approval; the reason is shown to the room that asked.',
  examples: ['deny r-7f3k', 'deny r-7f3k not during the conference'],
  access: 'approver',
  args: [
    { name: 'request', kind: 'request' },
    { name: 'reason', kind: 'text', optional: true },
  ],
  async run() {
    return notAvailable('deny');
  },
};
