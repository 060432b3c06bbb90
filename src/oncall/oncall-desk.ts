// Who is on call now: the rota from config, unless an admin set someone else for a while
// (`oncall set <person> [until]`), which is kept in Redis so every bot instance sees it.
import type { Redis } from 'ioredis';
import type { Config } from '../../config/schema.ts';
import type { RedisKeys } from '../redis/keys.ts';
import { type Shift, shiftsAt } from './rota.ts';

export interface OnCallOverride {
  person: string;
  /** Until when (ms since epoch). */
  until: number;
  /** Admin who set it. */
  setBy: string;
  /** When it was set. */
  at: number;
}

export interface OnCallNow {
  /** Person on call now, with where that comes from; undefined when nobody is (no rota, no override). */
  current?: Shift & { source: 'rota' | 'override'; setBy?: string };
  /** The person after the current one. */
  next?: Shift;
}

export class OnCallDesk {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #config: Config;
  readonly #now: () => number;

  constructor(redis: Redis, keys: RedisKeys, config: Config, now: () => number = Date.now) {
    this.#redis = redis;
    this.#keys = keys;
    this.#config = config;
    this.#now = now;
  }

  now(): number {
    return this.#now();
  }

  async override(): Promise<OnCallOverride | undefined> {
    const raw = await this.#redis.get(this.#keys.oncallOverride);
    if (!raw) return undefined;
    const found = JSON.parse(raw) as OnCallOverride;
    return found.until > this.#now() ? found : undefined;
  }

  async whoIsOnCall(): Promise<OnCallNow> {
    const at = this.#now();
    const shifts = shiftsAt(this.#config.oncall, at);
    const override = await this.override();
    if (override) {
      const next = shiftsAt(this.#config.oncall, override.until)?.current;
      return {
        current: {
          person: override.person,
          from: override.at,
          until: override.until,
          source: 'override',
          setBy: override.setBy,
        },
        ...(next ? { next: { ...next, from: override.until } } : {}),
      };
    }
    if (!shifts) return {};
    return { current: { ...shifts.current, source: 'rota' }, next: shifts.next };
  }

  /** Puts `person` on call until `until` (default: the next hand-over of the rota, or 24 hours). */
  async set(person: string, until: number | undefined, setBy: string): Promise<OnCallOverride> {
    const at = this.#now();
    const end = until ?? shiftsAt(this.#config.oncall, at)?.current.until ?? at + 24 * 3600_000;
    const override: OnCallOverride = { person, until: end, setBy, at };
    await this.#redis.set(this.#keys.oncallOverride, JSON.stringify(override), 'PX', Math.max(1, end - at));
    return override;
  }

  /** Ends an override; resolves with the one that was in force. */
  async clear(): Promise<OnCallOverride | undefined> {
    const found = await this.override();
    await this.#redis.del(this.#keys.oncallOverride);
    return found;
  }

  /**
   * Who to ask for an approval, in order: the person on call, then the rota from there on, then the
   * other people with the approver role (in config order). Never `exclude` (the requester).
   */
  async escalationOrder(exclude: string): Promise<string[]> {
    const { current } = await this.whoIsOnCall();
    const rota = this.#config.oncall.rota;
    const order: string[] = [];
    if (current) order.push(current.person);
    const start = current ? rota.indexOf(current.person) : -1;
    for (let i = 1; i <= rota.length; i++) {
      const person = rota[(start + i + rota.length) % rota.length];
      if (person !== undefined) order.push(person);
    }
    if (this.#config.policy.approvals.approvedBy === 'approvers') {
      for (const [person, spec] of Object.entries(this.#config.people)) {
        if (spec.roles.includes('approver') || spec.roles.includes('admin')) order.push(person);
      }
    }
    return [...new Set(order)].filter((person) => person !== exclude);
  }
}
