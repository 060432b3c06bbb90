// What Redis knows of a chat event, for tests that check an event was handled once and is remembered:
// its claim, or `done` once it is in a handled-events hash (see src/pipeline/ingress.ts).
import { doneBuckets, doneField, type IngressOptions, REMEMBER_MS } from '../../src/pipeline/ingress.ts';
import type { IncomingMessage } from '../../src/types.ts';

/** What is known of a chat event: its claim, `done` when it was handled, or null. */
export async function eventState(
  message: Pick<IncomingMessage, 'eventId' | 'target'>,
  options: Pick<IngressOptions, 'redis' | 'keys' | 'rememberMs' | 'now'>,
): Promise<string | null> {
  const claim = await options.redis.get(options.keys.event(message.target.network, message.eventId));
  if (claim !== null) return claim;
  const { around } = doneBuckets(
    options.keys,
    options.rememberMs ?? REMEMBER_MS,
    options.now?.() ?? Date.now(),
  );
  const held = await Promise.all(around.map((key) => options.redis.hexists(key, doneField(message))));
  return held.some((h) => h === 1) ? 'done' : null;
}
