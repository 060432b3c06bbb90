// `agents`: the live workers and what they can do (not available yet).
import type { CommandSpec } from '../src/command-spec.ts';
import { notAvailable } from './support/not-available.ts';

export const command: CommandSpec = {
  name: 'agents',
  aliases: ['workers'],
  summary: 'list live workers and what they can do',
  examples: ['agents'],
  access: 'known',
  args: [],
  async run() {
    return notAvailable('agents');
  },
};
