// `approve <request>`: gives the approval a waiting command needs (not available yet).
import type { CommandSpec } from '../src/command-spec.ts';
import { notAvailable } from './support/not-available.ts';

export const command: CommandSpec = {
  name: 'approve',
  summary: 'approve a waiting request',
  description:
    'Lets a command that waits for approval run. Never by the person who asked; only an approver or the on-call person.',
  examples: ['approve r-7f3k'],
  access: 'approver',
  args: [{ name: 'request', kind: 'request' }],
  async run() {
    return notAvailable('approve');
  },
};
