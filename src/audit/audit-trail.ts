// The audit trail: every command, decision, approval and state change, appended to a Redis stream.
// Each entry carries the hash of the entry before it and its own hash over that link and its content
// (an HMAC when `audit.key` is set), so changing, removing or reordering an entry breaks the chain at a
// place `verify` names. Appends from any number of processes stay in one chain: a Lua script adds an
// entry only if the chain's head is still the hash it was computed from, and the appender retries.
import { createHash, createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import pRetry from 'p-retry';
import type { Logger } from 'pino';
import type { RedisKeys } from '../redis/keys.ts';

/** What happened, in a few words: `command`, `approval.requested`, `job.succeeded`, `oncall.set`… */
export type AuditKind = string;

/** One fact for the trail. Only plain JSON values, so the hash is reproducible. */
export interface AuditFact {
  kind: AuditKind;
  /** Person id (or guest id, or `system` / a worker name) who did it. */
  actor: string;
  /** The account it came through (`xmpp:alice@example.org`), when it came from chat. */
  account?: string;
  /** Where it was said (`network:room`), when it came from chat. */
  room?: string;
  /** One line a person can read. */
  summary: string;
  /** Anything else worth keeping: command text, outcome, request id, job id, reason. */
  detail?: Record<string, string | number | boolean | null>;
}

/** A fact as stored: with its time, link and hash. */
export interface AuditEntry extends AuditFact {
  /** Stream entry id (`1700000000000-0`). */
  id: string;
  /** ISO time the entry was appended. */
  at: string;
  /** Hash of the previous entry ('' for the first). */
  prev: string;
  /** Hash of this entry. */
  hash: string;
}

/** The result of walking the chain. */
export interface AuditVerdict {
  ok: boolean;
  /** Entries checked. */
  checked: number;
  /** The first entry that breaks the chain, and how. */
  broken?: { id: string; problem: string };
}

/** Appends if the head is still ARGV[1]: {1, id}; else {0, the head now}, to compute the entry again. */
const APPEND = `
local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[1] then return {0, head} end
local id = redis.call('XADD', KEYS[1], '*', 'entry', ARGV[2], 'prev', ARGV[1], 'hash', ARGV[3])
redis.call('SET', KEYS[2], ARGV[3])
return {1, id}
`;

/** The chain's head moved between reading it and appending: compute the entry again on the new head. */
class HeadMoved extends Error {
  override readonly name = 'HeadMoved';
}

/** The JSON an entry's hash covers: its fields in a fixed order. */
function canonical(fact: AuditFact, at: string): string {
  return JSON.stringify({
    at,
    kind: fact.kind,
    actor: fact.actor,
    account: fact.account ?? null,
    room: fact.room ?? null,
    summary: fact.summary,
    detail: fact.detail
      ? Object.fromEntries(Object.entries(fact.detail).sort(([a], [b]) => (a < b ? -1 : 1)))
      : null,
  });
}

export class AuditTrail {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #key: string | undefined;
  readonly #now: () => number;
  /** Appends of this process go one at a time, so they seldom collide with each other. */
  #tail: Promise<unknown> = Promise.resolve();
  /** The chain's head as this process last saw it: one round trip per append while nobody else appends. */
  #head: string | undefined;

  constructor(redis: Redis, keys: RedisKeys, options: { key?: string | undefined; now?: () => number } = {}) {
    this.#redis = redis;
    this.#keys = keys;
    this.#key = options.key;
    this.#now = options.now ?? Date.now;
  }

  #hash(prev: string, body: string): string {
    const input = `${prev}\n${body}`;
    return this.#key
      ? createHmac('sha256', this.#key).update(input).digest('hex')
      : createHash('sha256').update(input).digest('hex');
  }

  /**
   * Appends a fact and never throws: what the fact records has already happened, and a trail that
   * cannot be written must not undo it or hide its outcome from the person. The failure is logged.
   */
  async record(fact: AuditFact, log: Pick<Logger, 'error'>): Promise<void> {
    await this.append(fact).catch((error: unknown) =>
      log.error({ err: error, kind: fact.kind }, 'could not append to the audit trail'),
    );
  }

  /** Appends a fact; resolves with its stream id. */
  append(fact: AuditFact): Promise<string> {
    const run = this.#tail.then(() => this.#appendNow(fact));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #appendNow(fact: AuditFact): Promise<string> {
    // Optimistic: compute the entry on the head last seen, append if it is still the head. Each refusal
    // means another process appended, so the chain always progresses; a jittered backoff keeps a busy
    // process from losing the race many times in a row.
    return pRetry(
      async () => {
        const prev = this.#head ?? (await this.#redis.get(this.#keys.auditHead)) ?? '';
        const body = canonical(fact, new Date(this.#now()).toISOString());
        const hash = this.#hash(prev, body);
        const [done, value] = (await this.#redis.eval(
          APPEND,
          2,
          this.#keys.audit,
          this.#keys.auditHead,
          prev,
          body,
          hash,
        )) as [number, string];
        if (done === 1) {
          this.#head = hash;
          return value;
        }
        this.#head = value; // another process appended meanwhile: chain onto its entry
        throw new HeadMoved();
      },
      {
        retries: 200,
        minTimeout: 1,
        maxTimeout: 50,
        factor: 1.5,
        randomize: true,
        shouldRetry: ({ error }) => error instanceof HeadMoved,
      },
    );
  }

  /** The last `count` entries, newest first. */
  async recent(count: number): Promise<AuditEntry[]> {
    const raw = await this.#redis.xrevrange(this.#keys.audit, '+', '-', 'COUNT', count);
    return raw.map(([id, fields]) => parseEntry(id, fields));
  }

  /** Every entry, oldest first, in pages (for export and verification). */
  async *entries(pageSize = 500): AsyncGenerator<AuditEntry> {
    let start = '-';
    for (;;) {
      const page = await this.#redis.xrange(this.#keys.audit, start, '+', 'COUNT', pageSize);
      for (const [id, fields] of page) yield parseEntry(id, fields);
      const last = page.at(-1);
      if (!last || page.length < pageSize) return;
      start = `(${last[0]}`;
    }
  }

  /** Walks the whole chain: each entry's hash matches its content and link, each link the entry before. */
  async verify(onEntry?: (entry: AuditEntry) => void): Promise<AuditVerdict> {
    // The head is read first: entries appended while the chain is walked come after it and are left
    // for the next verification, so a busy system does not look broken.
    const head = (await this.#redis.get(this.#keys.auditHead)) ?? '';
    let prev = '';
    let checked = 0;
    let lastId = '';
    for await (const entry of this.entries()) {
      if (head === '') {
        // Nothing was appended when the walk began; an entry now is either newer, or the head is gone.
        if (await this.#redis.exists(this.#keys.auditHead)) return { ok: true, checked };
        return {
          ok: false,
          checked: 1,
          broken: { id: entry.id, problem: 'the chain has entries but no head: its head was removed' },
        };
      }
      onEntry?.(entry);
      checked += 1;
      if (entry.prev !== prev) {
        return {
          ok: false,
          checked,
          broken: {
            id: entry.id,
            problem: `its link does not match the entry before it${lastId ? ` (${lastId})` : ''}: an entry before it was removed, changed or reordered`,
          },
        };
      }
      const body = canonical(entry, entry.at);
      if (this.#hash(entry.prev, body) !== entry.hash) {
        return {
          ok: false,
          checked,
          broken: { id: entry.id, problem: 'its content does not match its hash: the entry was changed' },
        };
      }
      prev = entry.hash;
      lastId = entry.id;
      if (prev === head) return { ok: true, checked };
    }
    if (head !== prev) {
      return {
        ok: false,
        checked,
        broken: {
          id: lastId || '(none)',
          problem: 'the chain ends here, but its head names a later entry: entries after it were removed',
        },
      };
    }
    return { ok: true, checked };
  }
}

function parseEntry(id: string, fields: string[]): AuditEntry {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] ?? '', fields[i + 1] ?? '');
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(map.get('entry') ?? '{}') as Record<string, unknown>;
  } catch {
    // A mangled entry: verification reports it, as its hash cannot match.
  }
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const entry: AuditEntry = {
    id,
    at: text(body.at) ?? '',
    kind: text(body.kind) ?? '',
    actor: text(body.actor) ?? '',
    summary: text(body.summary) ?? '',
    prev: map.get('prev') ?? '',
    hash: map.get('hash') ?? '',
  };
  const account = text(body.account);
  if (account !== undefined) entry.account = account;
  const room = text(body.room);
  if (room !== undefined) entry.room = room;
  if (body.detail && typeof body.detail === 'object')
    entry.detail = body.detail as AuditEntry['detail'] & object;
  return entry;
}
