// Tells subscribed rooms about lifecycle events, each event once across all bot instances. Sends go
// through the outbox (paced, retried there only), each under a transaction id of its entry and room,
// so an entry taken over from a dead instance is not stored twice where the network dedupes by it.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { LifecycleEvent } from '../catalog/catalog.ts';
import { roomKey } from '../chat/chat-keys.ts';
import type { Outbox } from '../outbox/outbox.ts';
import { connectRedis, type RedisTarget } from '../redis/connect.ts';
import type { RedisKeys } from '../redis/keys.ts';
import { renderLifecycleEvent } from '../render/lifecycle-event.ts';
import type { ChatAdapter, Reply } from '../types.ts';
import type { RoomSubscription, SubscriptionStore } from './subscription-store.ts';

export const ANNOUNCER_GROUP = 'announcers';

export interface LifecycleAnnouncerOptions {
  /** Shared connection: acknowledgements, subscriptions, delivery marks. */
  redis: Redis;
  /** For the announcer's own blocking connection. */
  redisUrl: RedisTarget;
  keys: RedisKeys;
  subscriptions: SubscriptionStore;
  adapters: ReadonlyMap<string, ChatAdapter>;
  /** Where the announcements go out. */
  outbox: Outbox;
  /** This bot instance: the consumer name in the group. */
  instanceId: string;
  log: Logger;
  /** How long one read waits for new entries (ms; default 5 s). */
  blockMs?: number;
  /** Entries another consumer has held unacknowledged this long are taken over (ms; default 60 s). */
  claimIdleMs?: number;
}

type Entry = [id: string, fields: string[] | null];

const READ_COUNT = 20;
const MARK_TTL_MS = 24 * 3600_000;
/** Consumers without pending entries and idle this long are removed from the group (dead instances). */
const FORGET_CONSUMER_MS = 24 * 3600_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function fieldOf(fields: string[] | null, name: string): string | undefined {
  if (!fields) return undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** Entries out of an XREADGROUP reply: `[[stream, entries], …]` (RESP2), `[stream, entries, …]` (a RESP3
 * map, as ioredis returns it), or null when the wait ended with nothing. */
function readEntries(reply: unknown): Entry[] {
  if (!Array.isArray(reply)) return [];
  if (reply.every(Array.isArray))
    return reply.flatMap((stream) => (Array.isArray(stream[1]) ? stream[1] : []));
  const entries: Entry[] = [];
  for (let i = 1; i < reply.length; i += 2)
    if (Array.isArray(reply[i])) entries.push(...(reply[i] as Entry[]));
  return entries;
}

/**
 * Reads the lifecycle stream as one member of a Redis consumer group, so with several bot instances each
 * event goes to one of them; an entry is acknowledged after every subscribed room has been sent it (or
 * given up on). Entries a dead instance read but never acknowledged are taken over once idle a while,
 * and the rooms it had already reached are remembered, so they are not told twice.
 */
export class LifecycleAnnouncer {
  readonly #options: LifecycleAnnouncerOptions;
  readonly #blockMs: number;
  readonly #claimIdleMs: number;
  #blocking: Redis | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;

  constructor(options: LifecycleAnnouncerOptions) {
    this.#options = options;
    this.#blockMs = options.blockMs ?? 5000;
    this.#claimIdleMs = options.claimIdleMs ?? 60_000;
  }

  /** Joins the group (created at the stream's end on first start: old events are not replayed) and starts reading. */
  async start(): Promise<void> {
    await this.#ensureGroup();
    this.#blocking = connectRedis(this.#options.redisUrl, {
      blocking: true,
      name: `vmops-announcer-${this.#options.instanceId}`,
      log: this.#options.log,
    });
    this.#loop = this.#run();
  }

  /** Stops reading, lets a delivery in progress end, and closes the blocking connection. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#blocking?.disconnect(); // ends a blocked read at once; what it had read stays pending for others
    await this.#loop;
    await this.#leaveGroup().catch(() => undefined);
  }

  async #ensureGroup(): Promise<void> {
    const { redis, keys } = this.#options;
    try {
      await redis.xgroup('CREATE', keys.lifecycle, ANNOUNCER_GROUP, '$', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
  }

  async #run(): Promise<void> {
    const { log } = this.#options;
    let claimedAt = 0;
    while (!this.#stopping) {
      try {
        if (Date.now() - claimedAt >= this.#claimIdleMs / 2) {
          claimedAt = Date.now();
          await this.#claimAbandoned();
        }
        for (const entry of await this.#read()) {
          if (this.#stopping) break; // unread-from-here entries stay pending and are claimed by another instance
          await this.#deliver(entry);
        }
      } catch (error) {
        if (this.#stopping) break;
        const message = String((error as Error).message);
        if (message.includes('NOGROUP')) await this.#ensureGroup().catch(() => undefined);
        else log.warn({ err: error }, 'lifecycle announcer: reading the stream failed; retrying');
        await sleep(1000);
      }
    }
  }

  async #read(): Promise<Entry[]> {
    const { keys, instanceId } = this.#options;
    const reply = await this.#blocking?.call(
      'XREADGROUP',
      'GROUP',
      ANNOUNCER_GROUP,
      instanceId,
      'COUNT',
      READ_COUNT,
      'BLOCK',
      this.#blockMs,
      'STREAMS',
      keys.lifecycle,
      '>',
    );
    return readEntries(reply);
  }

  /** Takes over entries other consumers read and left unacknowledged (they died mid-delivery), and delivers them. */
  async #claimAbandoned(): Promise<void> {
    const { redis, keys, instanceId } = this.#options;
    let cursor = '0-0';
    do {
      const reply = (await redis.xautoclaim(
        keys.lifecycle,
        ANNOUNCER_GROUP,
        instanceId,
        this.#claimIdleMs,
        cursor,
        'COUNT',
        READ_COUNT,
      )) as [string, Entry[]];
      cursor = reply[0];
      for (const entry of reply[1]) {
        if (this.#stopping) return;
        await this.#deliver(entry);
      }
    } while (cursor !== '0-0' && !this.#stopping);
    await this.#forgetDeadConsumers();
  }

  async #deliver([entryId, fields]: Entry): Promise<void> {
    const { redis, keys, log } = this.#options;
    const raw = fieldOf(fields, 'event');
    let event: LifecycleEvent | undefined;
    try {
      event = raw === undefined ? undefined : (JSON.parse(raw) as LifecycleEvent);
    } catch {
      event = undefined;
    }
    if (event?.event === undefined) {
      log.warn({ entryId }, 'lifecycle announcer: entry without a readable event; skipped');
    } else {
      const kind = event.event;
      const rooms = (await this.#options.subscriptions.all()).filter((s) => s.events.includes(kind));
      if (rooms.length > 0) {
        const reached = new Set(await redis.hkeys(keys.announced(entryId)));
        const reply = renderLifecycleEvent(event);
        await Promise.all(
          rooms
            .filter((room) => !reached.has(roomKey(room.target)))
            .map((room) => this.#announce(entryId, room, reply)),
        );
      }
    }
    await redis.xack(keys.lifecycle, ANNOUNCER_GROUP, entryId);
  }

  /** Sends to one room through the outbox; a room that cannot be reached is logged and skipped. */
  async #announce(entryId: string, room: RoomSubscription, reply: Reply): Promise<void> {
    const { redis, keys, log, adapters, outbox } = this.#options;
    const adapter = adapters.get(room.target.network);
    if (!adapter) {
      log.warn({ room: roomKey(room.target) }, 'lifecycle announcer: no adapter for a subscribed room');
      return;
    }
    try {
      await outbox.send(room.target, reply, {
        priority: 'progress',
        txnId: `vmops.announce.${entryId}.${roomKey(room.target)}`,
      });
    } catch (error) {
      log.error({ err: error, room: roomKey(room.target), entryId }, 'could not announce an event');
      return;
    }
    await redis
      .multi()
      .hset(keys.announced(entryId), roomKey(room.target), '1')
      .pexpire(keys.announced(entryId), MARK_TTL_MS)
      .exec()
      .catch((error: unknown) => log.warn({ err: error, entryId }, 'could not mark an announcement'));
  }

  /** Removes consumers that hold nothing and have been idle a day: instances that are gone. */
  async #forgetDeadConsumers(): Promise<void> {
    const { redis, keys, instanceId } = this.#options;
    const consumers = (await redis.xinfo('CONSUMERS', keys.lifecycle, ANNOUNCER_GROUP)) as unknown[];
    for (const consumer of consumers) {
      if (!Array.isArray(consumer)) continue;
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < consumer.length; i += 2) info.set(String(consumer[i]), consumer[i + 1]);
      const name = String(info.get('name'));
      if (name === instanceId || Number(info.get('pending')) > 0) continue;
      if (Number(info.get('idle')) < FORGET_CONSUMER_MS) continue;
      await redis.xgroup('DELCONSUMER', keys.lifecycle, ANNOUNCER_GROUP, name);
    }
  }

  /** On a clean stop, leaves the group unless entries are still pending under this consumer. */
  async #leaveGroup(): Promise<void> {
    const { redis, keys, instanceId } = this.#options;
    const pending = (await redis.xpending(
      keys.lifecycle,
      ANNOUNCER_GROUP,
      '-',
      '+',
      1,
      instanceId,
    )) as unknown[];
    if (pending.length === 0) await redis.xgroup('DELCONSUMER', keys.lifecycle, ANNOUNCER_GROUP, instanceId);
  }
}
