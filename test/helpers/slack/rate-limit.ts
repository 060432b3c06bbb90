// Slack's rate limits as the local Slack applies them (chat.postMessage per channel, chat.update per
// workspace).
import type { Rate } from './types.ts';

/** GCRA, as Slack's limiter is often described: `burst` at once, then `perSecond`. */
export class Limit {
  readonly #interval: number;
  readonly #tolerance: number;
  #tat = 0;
  /** Nothing should come before this (the last Retry-After given). */
  blockedUntil = 0;

  constructor(rate: Rate) {
    this.#interval = 1000 / rate.perSecond;
    this.#tolerance = Math.max(0, rate.burst - 1) * this.#interval;
  }

  /** 0 when the request conforms (and counts it), else the wait in ms. */
  take(now: number): number {
    const earliest = this.#tat - this.#tolerance;
    if (now < earliest) return earliest - now;
    this.#tat = Math.max(this.#tat, now) + this.#interval;
    return 0;
  }
}
