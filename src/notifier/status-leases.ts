// Status messages in Redis, shared by every bot instance: which message belongs to which job (or the
// reservation of one not posted yet, `pending:` + JSON), and the writer lease that lets one instance at
// a time post or edit it. Reserving takes the lease in the same step; posting records the reference
// and renews the lease in one transaction, so whoever sees the reference sees the lease too.
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.ts';
import type { ChatTarget, MessageRef } from '../types.ts';

/** A status message reserved by an instance and not posted yet (the `pending:` value in Redis). */
export interface Reservation {
  /** Instance that reserved it. */
  by: string;
  /** Where it goes. */
  target: ChatTarget;
  /** Transaction id of the post: whoever posts it uses this one. */
  txnId: string;
}

/** Reserves a status message and takes its writer lease, in one step: 1 when it was free. */
const RESERVE = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 1`;

/** Takes or renews the writer lease: 1 when this instance holds it afterwards. */
const HOLD_LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

/** Takes or renews the writer leases KEYS (as HOLD_LEASE does each): 1 or 0 for each, in order. */
const HOLD_LEASES = `
local held = {}
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder == ARGV[1] or not holder then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
    held[i] = 1
  else
    held[i] = 0
  end
end
return held`;

export class StatusLeases {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #instanceId: string;
  readonly #leaseMs: number;

  constructor(redis: Redis, keys: RedisKeys, instanceId: string, leaseMs: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#instanceId = instanceId;
    this.#leaseMs = leaseMs;
  }

  /** Jobs that have a status message or a reservation of one. */
  jobs(): Promise<string[]> {
    return this.#redis.hkeys(this.#keys.statusMessages);
  }

  /** A job's entry as stored: a MessageRef's JSON, `pending:` + a reservation's, or null. */
  read(jobId: string): Promise<string | null> {
    return this.#redis.hget(this.#keys.statusMessages, jobId);
  }

  /** Reserves the right to post a job's status message, with this instance's writer lease on it. */
  async reserve(jobId: string, reservation: Reservation): Promise<boolean> {
    const taken = await this.#redis.eval(
      RESERVE,
      2,
      this.#keys.statusMessages,
      this.#keys.statusWriter(jobId),
      jobId,
      `pending:${JSON.stringify(reservation)}`,
      this.#instanceId,
      String(this.#leaseMs),
    );
    return taken === 1;
  }

  /** Takes or renews a job's writer lease: true when this instance holds it afterwards. */
  async hold(jobId: string): Promise<boolean> {
    const held = await this.#redis.eval(
      HOLD_LEASE,
      1,
      this.#keys.statusWriter(jobId),
      this.#instanceId,
      String(this.#leaseMs),
    );
    return held === 1;
  }

  /** Takes or renews the leases of `jobIds` in one round trip: 1 or 0 for each, in order. */
  async holdMany(jobIds: readonly string[]): Promise<number[]> {
    return (await this.#redis.eval(
      HOLD_LEASES,
      jobIds.length,
      ...jobIds.map((jobId) => this.#keys.statusWriter(jobId)),
      this.#instanceId,
      String(this.#leaseMs),
    )) as number[];
  }

  /** The message is posted: its reference replaces the reservation, the lease renewed in the same step. */
  async recordPosted(jobId: string, ref: MessageRef): Promise<void> {
    await this.#redis
      .multi()
      .set(this.#keys.statusWriter(jobId), this.#instanceId, 'PX', this.#leaseMs)
      .hset(this.#keys.statusMessages, jobId, JSON.stringify(ref))
      .exec();
  }

  /** Removes a job's reference (or reservation) and its lease. */
  async release(jobId: string): Promise<void> {
    await this.#redis
      .multi()
      .hdel(this.#keys.statusMessages, jobId)
      .del(this.#keys.statusWriter(jobId))
      .exec();
  }
}

/** The reservation in a `pending:` entry, or undefined when it cannot be read. */
export function readReservation(raw: string): Reservation | undefined {
  try {
    const parsed = JSON.parse(raw.slice('pending:'.length)) as Partial<Reservation>;
    if (typeof parsed.by !== 'string' || typeof parsed.txnId !== 'string' || !parsed.target) return undefined;
    return parsed as Reservation;
  } catch {
    return undefined; // an older bot's reservation: it posts or lapses on its own
  }
}
