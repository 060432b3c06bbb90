// `pending`: the requests waiting for approval (not available yet).
import type { CommandSpec } from '../src/command-spec.ts';
import { notAvailable } from './support/not-available.ts';

export const command: CommandSpec = {
  name: 'pending',
  summary: 'list requests waiting for approval',
  examples: ['pending'],
  access: 'known',
  args: [],
  async run() {
    return notAvailable('pending');
  },
};
