// Status messages in Redis, shared by every bot instance: which message belongs to which job (a posted
// message's reference, or the reservation of one not posted yet, `pending:` + JSON), followed by a
// newline and the instance that writes it. That writer holds the message while its instance's lease
// lives: one key per instance (`status-lease:<instance>`), renewed with one command however many
// messages it writes, so a tracked job costs no key of its own. Reserving names the writer and renews
// the lease in one step; posting records the reference and renews the lease in one transaction, so
// whoever sees the reference sees a live lease too; taking a message over reads it and names the new
// writer in one script. Messages an older bot stored (no writer named, a lease key per job,
// `status-writer:<job>`) are still honoured while that lease lives.
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.ts';
import { LuaScript } from '../redis/lua-script.ts';
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

/** A status message as stored (without its writer): a reservation, or a posted message's reference. */
export type StatusMessage =
  | { reservation: Reservation; ref?: undefined }
  | { reservation?: undefined; ref: MessageRef };

/** Messages looked at per command after this instance's lease lapsed: one round trip for this many jobs. */
export const CHECK_BATCH = 500;

/** Reserves a status message (with this instance as its writer) and renews this instance's lease: 1 when it was free. */
const RESERVE = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 1`;
const RESERVE_SCRIPT = new LuaScript(RESERVE, 2);

/**
 * Takes or keeps the writing of a job's status message (KEYS[1] field ARGV[1]) for this instance
 * (ARGV[2], lease KEYS[2], ARGV[3] ms), whose writer is free when its instance's lease (ARGV[4] ..
 * writer) is gone; a value an older bot stored has its writer in the job's own lease, KEYS[3]. Returns
 * the message without its writer when this instance writes it now, 0 when another does, nil when there
 * is none.
 */
const HOLD = `
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then return nil end
local cut = string.find(value, '\\n', 1, true)
local message = value
local writer
if cut then
  message = string.sub(value, 1, cut - 1)
  writer = string.sub(value, cut + 1)
  if writer ~= ARGV[2] and redis.call('EXISTS', ARGV[4] .. writer) == 1 then return 0 end
else
  writer = redis.call('GET', KEYS[3])
  if writer and writer ~= ARGV[2] then return 0 end
end
if writer ~= ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], message .. '\\n' .. ARGV[2]) end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return message`;
const HOLD_SCRIPT = new LuaScript(HOLD, 3);

/** The lease renewed and the message's reference stored, in one step (see recordPosted). */
const POSTED_SCRIPT = new LuaScript(
  `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
return 1`,
  2,
);

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

  /** A job's entry as stored (message, newline, writer; or an older bot's message alone), or null. */
  read(jobId: string): Promise<string | null> {
    return this.#redis.hget(this.#keys.statusMessages, jobId);
  }

  /** Reserves the right to post a job's status message, with this instance as its writer. */
  async reserve(jobId: string, reservation: Reservation): Promise<boolean> {
    const { keys, args } = this.reserveStep(jobId, reservation);
    return (await RESERVE_SCRIPT.run(this.#redis, keys, args)) === 1;
  }

  /** `reserve` as a step of another script: its Lua, keys and arguments (it answers 1 when it was free). */
  reserveStep(jobId: string, reservation: Reservation): { lua: string; keys: string[]; args: string[] } {
    return {
      lua: RESERVE,
      keys: [this.#keys.statusMessages, this.#keys.statusLease(this.#instanceId)],
      args: [
        jobId,
        withWriter(`pending:${JSON.stringify(reservation)}`, this.#instanceId),
        this.#instanceId,
        String(this.#leaseMs),
      ],
    };
  }

  /**
   * Takes or keeps the writing of a job's status message, reading it in the same step: the message
   * (without its writer) when this instance writes it now, 0 when another does, null when there is none.
   */
  async hold(jobId: string): Promise<string | 0 | null> {
    const held = (await HOLD_SCRIPT.run(
      this.#redis,
      [this.#keys.statusMessages, this.#keys.statusLease(this.#instanceId), this.#keys.statusWriter(jobId)],
      [jobId, this.#instanceId, String(this.#leaseMs), this.#keys.statusLease('')],
    )) as string | number | null;
    return typeof held === 'string' ? held : held === null ? null : 0;
  }

  /**
   * Renews this instance's lease, which holds every message it writes: false when it had lapsed (the
   * process stalled) and another instance may have taken some over. Redis away counts as held: keep
   * writing, retry later.
   */
  async renew(): Promise<boolean> {
    const before = await this.#redis
      .set(this.#keys.statusLease(this.#instanceId), this.#instanceId, 'PX', this.#leaseMs, 'GET')
      .catch(() => this.#instanceId);
    return before === this.#instanceId;
  }

  /**
   * Of at most CHECK_BATCH jobs, in one round trip: true for each whose message another instance
   * writes now (false when none does, or it is gone); undefined when Redis could not be asked.
   */
  async othersWrite(jobIds: readonly string[]): Promise<boolean[] | undefined> {
    if (jobIds.length === 0) return [];
    const values = await this.#redis.hmget(this.#keys.statusMessages, ...jobIds).catch(() => undefined);
    return values?.map((value) => typeof value === 'string' && writerOf(value) !== this.#instanceId);
  }

  /** The message is posted: its reference replaces the reservation, the lease renewed in the same step. */
  async recordPosted(jobId: string, ref: MessageRef): Promise<void> {
    await POSTED_SCRIPT.run(
      this.#redis,
      [this.#keys.statusLease(this.#instanceId), this.#keys.statusMessages],
      [this.#instanceId, String(this.#leaseMs), jobId, withWriter(packRef(ref), this.#instanceId)],
    );
  }

  /** Removes a job's reference (or reservation); the instance's lease stays, for its other messages. */
  async release(jobId: string): Promise<void> {
    await this.#redis.hdel(this.#keys.statusMessages, jobId);
  }
}

/** A value of the status-messages hash: the message, a newline, the instance that writes it (JSON never holds a raw newline). */
function withWriter(message: string, instanceId: string): string {
  return `${message}\n${instanceId}`;
}

/** The writer named in a status-messages value ('' in a value an older bot stored, without one). */
function writerOf(value: string): string {
  const cut = value.indexOf('\n');
  return cut < 0 ? '' : value.slice(cut + 1);
}

/** A posted message's reference as kept in the status-messages hash: `[network, room, id, thread?]` (half the JSON object). */
function packRef(ref: MessageRef): string {
  return JSON.stringify(
    ref.thread === undefined ? [ref.network, ref.room, ref.id] : [ref.network, ref.room, ref.id, ref.thread],
  );
}

/** A reference as packRef keeps it, or as a JSON object (as stored before). */
function unpackRef(raw: string): MessageRef {
  const parsed = JSON.parse(raw) as unknown;
  if (!Array.isArray(parsed)) return parsed as MessageRef;
  const [network, room, id, thread] = parsed as (string | undefined)[];
  const ref: MessageRef = { network: network ?? '', room: room ?? '', id: id ?? '' };
  if (thread !== undefined) ref.thread = thread;
  return ref;
}

/**
 * A status-messages value (with or without its writer) as a reservation or a posted reference;
 * undefined for a reservation that cannot be read (an older bot's: it posts or lapses on its own).
 */
export function readStatusMessage(value: string): StatusMessage | undefined {
  const cut = value.indexOf('\n');
  const raw = cut < 0 ? value : value.slice(0, cut);
  if (!raw.startsWith('pending:')) return { ref: unpackRef(raw) };
  const reservation = readReservation(raw);
  return reservation ? { reservation } : undefined;
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
