// `unsubscribe [event…]`: stops telling this room about lifecycle events.
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { LIFECYCLE_EVENTS } from '../src/grammar/vocabulary.ts';
import { subscriptionReply } from './support/subscription-reply.ts';

export const command: CommandSpec = {
  name: 'unsubscribe',
  summary: 'stop telling this room about image events',
  description: `Events: ${LIFECYCLE_EVENTS.join(', ')}. Without events, this room is told about none of them any more.`,
  examples: ['unsubscribe', 'unsubscribe built passed'],
  access: 'operator',
  args: [{ name: 'event', kind: 'events', optional: true }],
  async run(ctx, args) {
    const events = args.events.length > 0 ? args.events : [...LIFECYCLE_EVENTS];
    const now = await ctx.subscriptions.unsubscribe(ctx.message.target, events);
    return { reply: subscriptionReply(ctx.message.target, now) };
  },
};
