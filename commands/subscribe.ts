// `subscribe [event…]`: tells this room about lifecycle events (not available yet).
import type { CommandSpec } from '../src/command-spec.ts';
import { LIFECYCLE_EVENTS } from '../src/grammar/vocabulary.ts';
import { notAvailable } from './support/not-available.ts';

export const command: CommandSpec = {
  name: 'subscribe',
  summary: 'have this room told about image events',
  description: `Events: ${LIFECYCLE_EVENTS.join(', ')}. Without events, this room is told about all of them.`,
  examples: ['subscribe', 'subscribe published revoked'],
  access: 'operator',
  args: [{ name: 'event', kind: 'events', optional: true }],
  async run() {
    return notAvailable('subscribe');
  },
};
