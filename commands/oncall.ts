// `oncall`: who is on call to approve requests (not available yet).
import type { CommandSpec } from '../src/command-spec.ts';
import { notAvailable } from './support/not-available.ts';

export const command: CommandSpec = {
  name: 'oncall',
  summary: 'show who is on call to approve requests',
  examples: ['oncall'],
  access: 'anyone',
  args: [],
  async run() {
    return notAvailable('oncall');
  },
};
