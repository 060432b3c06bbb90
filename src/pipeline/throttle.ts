// Throttle: how many commands one person (or one guest account) may give per window, counted in Redis
// so every bot instance shares the count (rate-limiter-flexible's fixed window with atomic increments).
// A flood gets one clear reply when it first goes over, then silence until the window ends: the room
// is not flooded with refusals, and nothing is queued.
import type { Redis } from 'ioredis';
import ms from 'ms';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface ThrottleVerdict {
  allowed: boolean;
  /** When refused: the reply to give, only for the first refusal of a window. */
  reply?: string;
}

export interface Throttle {
  /** Counts one command of `person`, said on `network`. */
  check(person: string, network: string): Promise<ThrottleVerdict>;
}

export function redisThrottle(
  redis: Redis,
  prefix: string,
  limit: { commands: number; perMs: number },
  /** Networks whose commands are not counted. */
  exemptNetworks: readonly string[] = [],
): Throttle {
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${prefix}:throttle`,
    points: limit.commands,
    duration: Math.max(1, Math.round(limit.perMs / 1000)),
  });
  const window = ms(limit.perMs, { long: true });
  return {
    async check(person, network) {
      if (exemptNetworks.includes(network)) return { allowed: true };
      try {
        await limiter.consume(person);
        return { allowed: true };
      } catch (refusal) {
        if (!(refusal instanceof RateLimiterRes)) throw refusal; // Redis failed: the caller decides
        if (refusal.consumedPoints !== limit.commands + 1) return { allowed: false };
        const wait = ms(Math.max(1000, refusal.msBeforeNext), { long: true });
        return {
          allowed: false,
          reply: `Too many commands: ${person} gave more than ${limit.commands} in ${window}. Nothing more is done for you for ${wait}; commands given until then are dropped, not queued, and get no further answer.`,
        };
      }
    },
  };
}
