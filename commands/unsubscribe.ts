// `unsubscribe [event…]`: stops telling this room about lifecycle events (not available yet).
import type { CommandSpec } from '../src/command-spec.ts';
import { LIFECYCLE_EVENTS } from '../src/grammar/vocabulary.ts';
import { notAvailable } from './support/not-available.ts';

export const command: CommandSpec = {
  name: 'unsubscribe',
  summary: 'stop telling this room about image events',
  description: `Events: ${LIFECYCLE_EVENTS.join(', ')}. Without events, this room is told about none of them any more.`,
  examples: ['unsubscribe', 'unsubscribe built tested'],
  access: 'operator',
  args: [{ name: 'event', kind: 'events', optional: true }],
  async run() {
    return notAvailable('unsubscribe');
  },
};
