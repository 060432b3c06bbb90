// Exponential backoff with jitter, for reconnecting and rejoining. @xmpp/reconnect only waits a fixed
// `delay` before each attempt; the adapter sets that delay from here before every attempt.

export interface Backoff {
  /** First wait (ms). */
  baseMs: number;
  /** Longest wait (ms). */
  maxMs: number;
}

/** Wait before attempt `attempt` (0 = first): half of min(max, base·2^attempt), plus up to as much again at random. */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const cap = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + (random() * cap) / 2);
}
