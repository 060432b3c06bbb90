// Approval requests in Redis, shared by every bot instance. A request is a hash: the request itself
// (fixed when it is made), its state, who answered, whom it was sent to. Every change of state is a
// Lua compare-and-set from `pending`, so a request is answered, or expires, exactly once, whichever
// instance or network the answer comes from. One key per change asked for (command and arguments)
// names its pending request, set in the same script that makes the request: two identical requests
// made at once, on any instances, make one request; the second is answered with the first.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.ts';
import { LuaScript } from '../redis/lua-script.ts';
import type { ApprovalAnswer, ApprovalRecord, ApprovalRequest, ApprovalState } from './approval-types.ts';

export type { ApprovalAnswer, ApprovalRecord, ApprovalRequest, ApprovalState } from './approval-types.ts';

// KEYS: the request, open, escalation, the change's key. ARGV: id, request, expiresAt, escalateAt,
// notified, event, keep (ms), the key prefix of requests, time to expiry (ms).
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'event') == ARGV[6] then return 'same' end
  return 'taken'
end
local other = redis.call('GET', KEYS[4])
if other and redis.call('HGET', ARGV[8] .. other, 'state') == 'pending' then return 'existing:' .. other end
redis.call('HSET', KEYS[1], 'request', ARGV[2], 'state', 'pending', 'expiresAt', ARGV[3], 'notified', ARGV[5], 'event', ARGV[6], 'same', KEYS[4])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('SET', KEYS[4], ARGV[1], 'PX', math.max(1, tonumber(ARGV[9])))
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
if tonumber(ARGV[4]) > 0 then redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1]) end
return 'new'
`;
const CREATE_SCRIPT = new LuaScript(CREATE, 4);

// Closing a request frees its change's key (when it still names this request).
const DECIDE = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'missing' end
if state ~= 'pending' then return state end
local id = ARGV[4]
local same = redis.call('HGET', KEYS[1], 'same')
if same and redis.call('GET', same) == id then redis.call('DEL', same) end
if ARGV[1] ~= 'expired' and tonumber(redis.call('HGET', KEYS[1], 'expiresAt')) <= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'state', 'expired')
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  return 'expired-now'
end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'answer', ARGV[2])
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
return 'ok'
`;
const DECIDE_SCRIPT = new LuaScript(DECIDE, 3);

/** How long answered requests stay readable (for `pending`'s refusals and the console). */
const KEEP_MS = 30 * 24 * 3600_000;

export class ApprovalStore {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;

  constructor(redis: Redis, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  /**
   * Stores a new request, unless: this event already made it (`same`), another request owns the id
   * (`taken`), or a pending request asks for the same change (`change`: the command and its arguments
   * as one string; answered with `{ existing: id }`).
   */
  async create(
    request: ApprovalRequest,
    options: { escalateAt: number | undefined; notified: string[]; eventKey: string; change: string },
  ): Promise<'new' | 'same' | 'taken' | { existing: string }> {
    const digest = createHash('sha256').update(options.change).digest('hex');
    const made = (await CREATE_SCRIPT.run(
      this.#redis,
      [
        this.#keys.approval(request.id),
        this.#keys.approvalsOpen,
        this.#keys.approvalsEscalation,
        this.#keys.approvalSame(digest),
      ],
      [
        request.id,
        JSON.stringify(request),
        request.expiresAt,
        options.escalateAt ?? 0,
        JSON.stringify(options.notified),
        options.eventKey,
        request.expiresAt - request.createdAt + KEEP_MS,
        this.#keys.approval(''),
        request.expiresAt - request.createdAt,
      ],
    )) as string;
    if (made.startsWith('existing:')) return { existing: made.slice('existing:'.length) };
    return made as 'new' | 'same' | 'taken';
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const fields = await this.#redis.hgetall(this.#keys.approval(id));
    if (!fields.request || !fields.state) return undefined;
    const record: ApprovalRecord = {
      request: JSON.parse(fields.request) as ApprovalRequest,
      state: fields.state as ApprovalState,
      notified: JSON.parse(fields.notified ?? '[]') as string[],
    };
    if (fields.answer) record.answer = JSON.parse(fields.answer) as ApprovalAnswer;
    if (fields.outcome) record.outcome = JSON.parse(fields.outcome) as ApprovalRecord['outcome'] & object;
    return record;
  }

  /**
   * Moves a pending request to `state`. `ok` when this call did it; `expired-now` when it had run out
   * of time (this call marked it expired instead); otherwise the state it already had, or `missing`.
   */
  async decide(
    id: string,
    state: Exclude<ApprovalState, 'pending'>,
    answer: ApprovalAnswer | undefined,
    now: number,
  ): Promise<'ok' | 'expired-now' | 'missing' | ApprovalState> {
    return (await DECIDE_SCRIPT.run(
      this.#redis,
      [this.#keys.approval(id), this.#keys.approvalsOpen, this.#keys.approvalsEscalation],
      [state, answer ? JSON.stringify(answer) : '', now, id],
    )) as 'ok' | 'expired-now' | 'missing' | ApprovalState;
  }

  async setOutcome(id: string, outcome: NonNullable<ApprovalRecord['outcome']>): Promise<void> {
    await this.#redis.hset(this.#keys.approval(id), 'outcome', JSON.stringify(outcome));
  }

  async setNotified(id: string, notified: string[]): Promise<void> {
    await this.#redis.hset(this.#keys.approval(id), 'notified', JSON.stringify(notified));
  }

  /** Ids of open requests, soonest to expire first. */
  async open(): Promise<string[]> {
    return this.#redis.zrange(this.#keys.approvalsOpen, '0', '-1');
  }

  /** Ids of open requests whose time ran out by `now`. */
  async due(now: number, limit = 50): Promise<string[]> {
    return this.#redis.zrangebyscore(this.#keys.approvalsOpen, '-inf', String(now), 'LIMIT', 0, limit);
  }

  /** Ids due for escalation by `now`. */
  async dueForEscalation(now: number, limit = 50): Promise<string[]> {
    return this.#redis.zrangebyscore(this.#keys.approvalsEscalation, '-inf', String(now), 'LIMIT', 0, limit);
  }

  /** Claims the escalation of a request: true for exactly one caller. */
  async claimEscalation(id: string): Promise<boolean> {
    return (await this.#redis.zrem(this.#keys.approvalsEscalation, id)) === 1;
  }

  /** Schedules the next escalation. */
  async escalateAgainAt(id: string, at: number): Promise<void> {
    await this.#redis.zadd(this.#keys.approvalsEscalation, at, id);
  }
}
