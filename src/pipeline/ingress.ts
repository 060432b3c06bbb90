// Ingress: decides whether a chat event is to be handled at all. Drops the bot's own messages, other
// bots' messages and messages too old to act on (history replays), then claims the event in Redis so
// a redelivery, or another bot instance seeing the same event, handles it at most once while it runs
// and never again once it is done. A claim whose holder died lapses, so the platform's redelivery can
// still run the command (enqueueing is idempotent per event).
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.ts';
import type { IncomingMessage } from '../types.ts';

export type IngressVerdict =
  | { admit: true; release(outcome: 'done' | 'failed'): Promise<void> }
  | { admit: false; reason: 'self' | 'bot' | 'too-old' | 'duplicate' };

export interface IngressOptions {
  redis: Redis;
  keys: RedisKeys;
  /** Messages older than this are dropped (ms). */
  maxAgeMs: number;
  /** How long a claim holds while the command is handled (ms). */
  claimMs?: number;
  /** How long a handled event is remembered (ms); longer than any platform's redelivery window. */
  rememberMs?: number;
  /** Identifies this bot instance in the claim. */
  instanceId: string;
  now?: () => number;
}

/** Cheap checks that need no Redis: own, bot and old messages. */
export function screen(
  message: IncomingMessage,
  maxAgeMs: number,
  now: number,
): 'self' | 'bot' | 'too-old' | undefined {
  if (message.sender.isSelf) return 'self';
  if (message.sender.isBot) return 'bot';
  if (now - message.sentAt > maxAgeMs) return 'too-old';
  return undefined;
}

/** Marks a claimed event done (remembered) or failed (forgotten, so a redelivery may run it), if still ours. */
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'done' then redis.call('SET', KEYS[1], 'done', 'PX', ARGV[3]) else redis.call('DEL', KEYS[1]) end
return 1`;

export async function admit(message: IncomingMessage, options: IngressOptions): Promise<IngressVerdict> {
  const now = options.now?.() ?? Date.now();
  const dropped = screen(message, options.maxAgeMs, now);
  if (dropped) return { admit: false, reason: dropped };
  const key = options.keys.event(message.target.network, message.eventId);
  const claim = `processing:${options.instanceId}`;
  const claimed = await options.redis.set(key, claim, 'PX', options.claimMs ?? 120_000, 'NX');
  if (claimed !== 'OK') return { admit: false, reason: 'duplicate' };
  const rememberMs = String(options.rememberMs ?? 7 * 24 * 3600_000);
  return {
    admit: true,
    async release(outcome) {
      // Only while the claim is still ours: if it lapsed and another instance took the event, that one decides.
      await options.redis.eval(RELEASE, 1, key, claim, outcome, rememberMs);
    },
  };
}
