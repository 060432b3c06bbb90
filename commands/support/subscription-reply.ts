// The answer of subscribe and unsubscribe: what the room is subscribed to now.
import type { ChatTarget, Reply } from '../../src/types.ts';

export function subscriptionReply(target: ChatTarget, events: readonly string[]): Reply {
  const where = target.isDirect ? 'This conversation' : 'This room';
  if (events.length === 0) {
    return {
      text: `${where} is no longer subscribed to any image events (subscribe [event…] starts again).`,
      tone: 'ok',
    };
  }
  return { text: `${where} is now subscribed to: ${events.join(', ')}.`, tone: 'ok' };
}
