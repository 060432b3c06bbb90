// Pacing shared by every bot instance, kept in Redis: one budget per thing a platform counts (a Slack
// channel's posts, the workspace's updates, a Matrix account), in the shape platforms document theirs:
// a sustained rate and a burst (the generic cell rate algorithm, GCRA). One request per budget is on
// its way at a time, across all instances (a short lock), and it is counted when its answer comes
// back: never earlier than when the platform counted it, so a request that left late (a busy event
// loop) cannot land closer to the next one than the platform allows. Redis's clock is the one clock.
// A Retry-After pushes the whole budget back for every instance at once.
import type { Redis } from 'ioredis';
import { LuaScript } from '../redis/lua-script.ts';
import type { SendRate } from '../types.ts';

/**
 * Takes the budget's lock when a request may go now. KEYS: tat, lock. ARGV: owner, lockMs, toleranceMs.
 * Returns {1, 0} when taken, {0, waitMs} when the budget needs time, {0, -pttl} when another holds it.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then
  local left = redis.call('PTTL', KEYS[2])
  if left < 1 then left = 1 end
  return {0, -left}
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local wait = tat - tonumber(ARGV[3]) - now
if wait > 0 then return {0, math.ceil(wait)} end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return {1, 0}`;
const ACQUIRE_SCRIPT = new LuaScript(ACQUIRE, 2);

/**
 * Counts a request whose answer came back, or pushes the budget back after a rate limit, and lets go
 * of the lock. KEYS: tat, lock. ARGV: owner, intervalMs (0: not counted), pauseMs, toleranceMs.
 */
const RELEASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local interval = tonumber(ARGV[2])
if interval > 0 then tat = math.max(tat, now) + interval end
local pause = tonumber(ARGV[3])
if pause > 0 then tat = math.max(tat, now + pause + tonumber(ARGV[4])) end
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.max(1000, math.ceil(tat - now) + 60000))
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1`;
const RELEASE_SCRIPT = new LuaScript(RELEASE, 2);

/** Longest a lock is held without its holder letting go (a request's timeout, plus room). */
const LOCK_MS = 20_000;
/** How often a sender looks again while another instance's request is on its way (ms). */
const POLL_MS = 25;

export interface SharedPaceOptions {
  redis: Redis;
  /** Redis key of this budget (under the config's prefix). */
  key: string;
  rate: SendRate;
  /** Who holds the lock: this instance, and the lane inside it. */
  owner: string;
}

export class SharedPace {
  readonly #o: SharedPaceOptions;
  readonly #interval: number;
  readonly #tolerance: number;

  constructor(options: SharedPaceOptions) {
    this.#o = options;
    this.#interval = Math.ceil(1000 / options.rate.perSecond);
    this.#tolerance = Math.max(0, options.rate.burst - 1) * this.#interval;
  }

  /**
   * Waits until a request may go and takes the lock; false when `signal` ended the wait (stopping).
   * `sleep` waits (ms) and resolves early when stopping.
   */
  async take(sleep: (ms: number) => Promise<void>, stopped: () => boolean): Promise<boolean> {
    const { redis, key, owner } = this.#o;
    while (!stopped()) {
      const [taken, ms] = (await ACQUIRE_SCRIPT.run(
        redis,
        [`${key}:tat`, `${key}:lock`],
        [owner, String(LOCK_MS), String(this.#tolerance)],
      )) as [number, number];
      if (taken === 1) return true;
      // Another instance's request is on its way: look again soon (with jitter, so instances alternate).
      await sleep(ms > 0 ? ms : Math.min(-ms, POLL_MS + Math.floor(Math.random() * POLL_MS)));
    }
    return false;
  }

  /** The request was answered: count it now and let go. */
  async counted(): Promise<void> {
    await this.#release(this.#interval, 0);
  }

  /** The platform refused for now and asked to wait `ms`: nothing on this budget goes before then. */
  async pausedFor(ms: number): Promise<void> {
    await this.#release(0, ms);
  }

  /** The request failed without being counted (it never reached the platform): let go. */
  async released(): Promise<void> {
    await this.#release(this.#interval, 0);
  }

  async #release(interval: number, pauseMs: number): Promise<void> {
    const { redis, key, owner } = this.#o;
    await RELEASE_SCRIPT.run(
      redis,
      [`${key}:tat`, `${key}:lock`],
      [owner, String(interval), String(Math.max(0, Math.ceil(pauseMs))), String(this.#tolerance)],
    );
  }
}
