// Room subscriptions in Redis: which lifecycle events each room is told about, one hash field per room.
import type { Redis } from 'ioredis';
import { roomKey } from '../chat/chat-keys.ts';
import { VmopsError } from '../errors.ts';
import type { RoomSubscriptions } from '../grammar/command-spec.ts';
import { LIFECYCLE_EVENTS } from '../grammar/vocabulary.ts';
import type { RedisKeys } from '../redis/keys.ts';
import { LuaScript } from '../redis/lua-script.ts';
import type { ChatTarget } from '../types.ts';

/** One room's subscription as stored: where to post, and which events. */
export interface RoomSubscription {
  target: ChatTarget;
  events: string[];
}

/** Known event names only, once each, in LIFECYCLE_EVENTS order. */
export function orderedEvents(events: Iterable<string>): string[] {
  const wanted = new Set(events);
  return LIFECYCLE_EVENTS.filter((event) => wanted.has(event));
}

function parse(raw: string | null): RoomSubscription | undefined {
  if (!raw) return undefined;
  try {
    const value = JSON.parse(raw) as Partial<RoomSubscription>;
    if (!value.target || !Array.isArray(value.events)) return undefined;
    return { target: value.target, events: orderedEvents(value.events) };
  } catch {
    return undefined;
  }
}

/** Writes ARGV[3] (or deletes the field when empty) only if the field still holds ARGV[2]. */
const COMPARE_AND_SET = `
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if current ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1`;
const COMPARE_AND_SET_SCRIPT = new LuaScript(COMPARE_AND_SET, 1);

const CHANGE_ATTEMPTS = 10;

/** Changes are a compare-and-set, so two bot instances changing one room at once lose neither change. */
export class SubscriptionStore implements RoomSubscriptions {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;

  constructor(redis: Redis, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  subscribe(target: ChatTarget, events: readonly string[]): Promise<string[]> {
    return this.#change(target, (current) => {
      for (const event of events) current.add(event);
    });
  }

  unsubscribe(target: ChatTarget, events: readonly string[]): Promise<string[]> {
    return this.#change(target, (current) => {
      for (const event of events) current.delete(event);
    });
  }

  async list(target: ChatTarget): Promise<string[]> {
    return parse(await this.#redis.hget(this.#keys.subscriptions, roomKey(target)))?.events ?? [];
  }

  /** Every room with at least one event. */
  async all(): Promise<RoomSubscription[]> {
    const fields = await this.#redis.hgetall(this.#keys.subscriptions);
    return Object.values(fields)
      .map(parse)
      .filter((s): s is RoomSubscription => s !== undefined && s.events.length > 0);
  }

  async #change(target: ChatTarget, edit: (current: Set<string>) => void): Promise<string[]> {
    const field = roomKey(target);
    const room: ChatTarget = { network: target.network, room: target.room, isDirect: target.isDirect };
    for (let attempt = 0; attempt < CHANGE_ATTEMPTS; attempt++) {
      const raw = (await this.#redis.hget(this.#keys.subscriptions, field)) ?? '';
      const current = new Set(parse(raw)?.events);
      edit(current);
      const events = orderedEvents(current);
      const next = events.length > 0 ? JSON.stringify({ target: room, events }) : '';
      const done = await COMPARE_AND_SET_SCRIPT.run(
        this.#redis,
        [this.#keys.subscriptions],
        [field, raw, next],
      );
      if (done === 1) return events;
    }
    throw new VmopsError('internal_error', `the subscriptions of ${field} kept changing under this command`);
  }
}
