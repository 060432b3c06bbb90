// `subscribe [event…]`: tells this room about lifecycle events as they happen.
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { LIFECYCLE_EVENTS } from '../src/grammar/vocabulary.ts';
import { subscriptionReply } from './support/subscription-reply.ts';

export const command: CommandSpec = {
  name: 'subscribe',
  summary: 'have this room told about image events',
  description: `Events: ${LIFECYCLE_EVENTS.join(', ')}. Without events, this room is told about all of them. Events add to what the room is already subscribed to.`,
  examples: ['subscribe', 'subscribe published revoked'],
  access: 'operator',
  args: [{ name: 'event', kind: 'events', optional: true }],
  async run(ctx, args) {
    const events = args.events.length > 0 ? args.events : [...LIFECYCLE_EVENTS];
    const now = await ctx.subscriptions.subscribe(ctx.message.target, events);
    return { reply: subscriptionReply(ctx.message.target, now) };
  },
};
