// The audit trail: every command, decision, approval and state change, appended to a Redis stream.
// Each entry carries the hash of the entry before it, a sequence number, and its own hash over that
// link and its content (an HMAC when `audit.key` is set), so changing, removing or reordering an entry
// breaks the chain at a place `verify` names. Appends from any number of processes stay in one chain: a
// Lua script adds an entry only if the chain's head is still the hash it was computed from, and the
// appender retries. What a chain alone cannot show (its newest entries removed and the head set back,
// a head rewritten with its entry) the anchors outside Redis show: each process's journal file
// (audit-journal.ts) and the signed checkpoints (audit-checkpoint.ts) that `verify` compares with.
import { createHash, createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import pRetry from 'p-retry';
import type { Logger } from 'pino';
import type { RedisKeys } from '../redis/keys.ts';
import { type AfterAppend, APPEND, APPEND_SCRIPT, appendThenScript } from './audit-append-script.ts';
import {
  type AuditEntry,
  type AuditFact,
  canonical,
  compact,
  LINK_CHARS,
  parseEntry,
} from './audit-entry.ts';
import { type AuditJournal, readJournals } from './audit-journal.ts';

export type { AfterAppend } from './audit-append-script.ts';
export type { AuditEntry, AuditFact, AuditKind } from './audit-entry.ts';

/** The result of walking the chain. */
export interface AuditVerdict {
  ok: boolean;
  /** Entries checked. */
  checked: number;
  /** The first entry that breaks the chain, and how. */
  broken?: { id: string; problem: string };
  /** How the chain compared with the anchors outside Redis, when there are any to compare with. */
  anchors?: { journals: number; anchors: number; checkpoints: number };
}

/** A signed statement that the chain had `hash` as its entry `seq` (see audit-checkpoint.ts). */
export interface AuditCheckpointClaim {
  seq: number;
  hash: string;
}

/** What the append answers: {1, the entry's id} or {0, the head now, the sequence number now}. */
type AppendResult = [number, string, string?];

/** The chain's head moved between reading it and appending: compute the entry again on the new head. */
class HeadMoved extends Error {
  override readonly name = 'HeadMoved';
}

export class AuditTrail {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #key: string | undefined;
  readonly #now: () => number;
  readonly #journal: AuditJournal | undefined;
  readonly #journalDir: string | undefined;
  /** Appends of this process go one at a time, so they seldom collide with each other. */
  #tail: Promise<unknown> = Promise.resolve();
  /** The chain's head and sequence number as this process last saw them: one round trip per append while nobody else appends. */
  #head: { hash: string; seq: number } | undefined;

  constructor(
    redis: Redis,
    keys: RedisKeys,
    options: {
      key?: string | undefined;
      now?: () => number;
      /** This process's journal: every entry it appends is anchored there. */
      journal?: AuditJournal | undefined;
      /** Where the journals of every process on this host are, for `verify` (default: the journal's). */
      journalDir?: string | undefined;
    } = {},
  ) {
    this.#redis = redis;
    this.#keys = keys;
    this.#key = options.key;
    this.#now = options.now ?? Date.now;
    this.#journal = options.journal;
    this.#journalDir = options.journalDir;
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
   * `after`: a step run in the same script once the fact is appended. True when it was appended.
   */
  async record(fact: AuditFact, log: Pick<Logger, 'error'>, after?: AfterAppend): Promise<boolean> {
    return this.append(fact, after).then(
      () => true,
      (error: unknown) => {
        log.error({ err: error, kind: fact.kind }, 'could not append to the audit trail');
        return false;
      },
    );
  }

  /**
   * Appends a fact; resolves with its stream id. `after`: a step run in the same script once the entry
   * is appended (not when the append fails).
   */
  append(fact: AuditFact, after?: AfterAppend): Promise<string> {
    return this.appendVia(fact, async (step) => {
      const appended = (await (after
        ? appendThenScript(after).run(
            this.#redis,
            [...step.keys, ...after.keys],
            [...step.args, ...after.args],
          )
        : APPEND_SCRIPT.run(this.#redis, step.keys, step.args))) as AppendResult;
      return { appended, value: appended[1] };
    });
  }

  /**
   * Appends a fact as a step of another module's script (one that does something else in the same
   * step, only when the entry is appended; see queue-job.ts): `run` runs `step` (the append, as Lua
   * with its keys and arguments) and gives back what the append answered, or nothing when its script
   * stopped before the append. A moved head runs it again, on the new head. Resolves with `run`'s value.
   * Appends of this process go one at a time.
   */
  appendVia<T>(
    fact: AuditFact,
    run: (step: AfterAppend) => Promise<{ appended?: unknown; value: T }>,
  ): Promise<T> {
    const done = this.#tail.then(() =>
      this.#appendWith(fact, async (keys, args) => {
        const { appended, value } = await run({ lua: APPEND, keys, args });
        return { result: appended as AppendResult | undefined, value };
      }),
    );
    this.#tail = done.catch(() => undefined);
    return done;
  }

  /**
   * The optimistic append: compute the entry on the head last seen, append if it is still the head. Each
   * refusal means another process appended, so the chain always progresses; a jittered backoff keeps a
   * busy process from losing the race many times in a row. `run` sends the append (keys, arguments) and
   * gives back its answer (none when it was not sent) and the value to resolve with.
   */
  #appendWith<T>(
    fact: AuditFact,
    run: (
      keys: string[],
      args: (string | number)[],
    ) => Promise<{ result: AppendResult | undefined; value: T }>,
  ): Promise<T> {
    return pRetry(
      async () => {
        this.#head ??= await this.#readHead();
        const { hash: prev } = this.#head;
        const seq = this.#head.seq + 1;
        const at = new Date(this.#now()).toISOString();
        const hash = this.#hash(prev, canonical(fact, at, seq));
        const keys = [this.#keys.audit, this.#keys.auditHead, this.#keys.auditSeq];
        const stored = Buffer.from(hash, 'hex').toString('base64url');
        const args = [prev, compact(fact, at), hash, seq, prev.slice(0, LINK_CHARS), stored];
        const { result, value } = await run(keys, args);
        if (!result) return value; // not appended: the step's script stopped before it
        const [done, id, seqNow] = result;
        if (done === 1) {
          this.#head = { hash, seq };
          this.#journal?.note({ seq, hash, id, at });
          return value;
        }
        this.#head = { hash: id, seq: Number(seqNow ?? 0) }; // another process appended meanwhile: chain onto its entry
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

  async #readHead(): Promise<{ hash: string; seq: number }> {
    const [hash, seq] = await this.#redis.mget(this.#keys.auditHead, this.#keys.auditSeq);
    return { hash: hash ?? '', seq: Number(seq ?? 0) };
  }

  /** The chain's head now: the newest entry's hash and sequence number (for checkpoints). */
  head(): Promise<{ hash: string; seq: number }> {
    return this.#readHead();
  }

  /** Waits until every entry this process appended is anchored in its journal on disk. */
  async flush(): Promise<void> {
    await this.#tail;
    await this.#journal?.flush();
  }

  /**
   * The last `count` entries of the chain, newest first. Entries after the head (added to the stream
   * without moving the head: forged, or half-written) are not in the chain and are left out.
   */
  async recent(count: number): Promise<AuditEntry[]> {
    const [[, head], [, raw]] = (await this.#redis
      .multi()
      .get(this.#keys.auditHead)
      .xrevrange(this.#keys.audit, '+', '-', 'COUNT', count + 100)
      .exec()) as [[unknown, string | null], [unknown, [string, string[]][]]];
    const entries = raw.map(([id, fields]) => parseEntry(id, fields));
    const at = entries.findIndex((entry) => entry.hash === head);
    return (at < 0 ? entries : entries.slice(at)).slice(0, count);
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

  /**
   * Walks the whole chain: each entry's hash matches its content and link, each link the entry before,
   * nothing lies after the head; then compares it with the anchors: every entry a journal here or a
   * given checkpoint vouches for must be in the chain, at its place, with its hash.
   */
  async verify(
    onEntry?: (entry: AuditEntry) => void,
    checkpoints: readonly AuditCheckpointClaim[] = [],
  ): Promise<AuditVerdict> {
    // Anchors first: whatever they vouch for was in the chain before the walk begins.
    await this.flush().catch(() => undefined);
    const journalDir = this.#journalDir ?? this.#journal?.dir;
    const journals = journalDir === undefined ? [] : await readJournals(journalDir);
    const walked = await this.#walk(onEntry);
    if (!walked.verdict.ok || (journalDir === undefined && checkpoints.length === 0)) return walked.verdict;
    const { checked } = walked.verdict;
    const anchors = {
      journals: journals.length,
      anchors: journals.reduce((n, journal) => n + journal.anchors.length, 0),
      checkpoints: checkpoints.length,
    };
    const vouched = [
      ...journals.flatMap((journal) =>
        journal.anchors.map((anchor) => ({ ...anchor, source: `the journal ${journal.file}` })),
      ),
      ...checkpoints.map((claim) => ({ ...claim, id: '', at: '', source: 'the checkpoint given' })),
    ];
    const { bySeq, last } = walked;
    // A rewritten entry first (it names the place), then what is missing at the end.
    for (const anchor of vouched) {
      const held = bySeq.get(anchor.seq);
      if (held && held.hash !== anchor.hash) {
        return {
          ok: false,
          checked,
          anchors,
          broken: {
            id: held.id,
            problem: `it is entry #${anchor.seq}, but ${anchor.source} has another hash for #${anchor.seq}${anchor.at ? ` (appended ${anchor.at})` : ''}: the entry was rewritten${held.hash === walked.head ? ', and the head with it' : ''}`,
          },
        };
      }
    }
    const beyond = vouched.filter((anchor) => !bySeq.has(anchor.seq)).sort((a, b) => b.seq - a.seq);
    const newest = beyond[0];
    if (newest) {
      const lastSeq = last?.seq ?? 0;
      const gone = newest.seq > lastSeq ? newest.seq - lastSeq : beyond.length;
      return {
        ok: false,
        checked,
        anchors,
        broken: {
          id: last?.id ?? '(none)',
          problem:
            newest.seq > lastSeq
              ? `the chain ends at entry #${lastSeq}, but ${newest.source} vouches for entries up to #${newest.seq}${newest.at ? ` (appended ${newest.at})` : ''}: the ${gone} newest entries were removed and the head set back`
              : `${newest.source} vouches for entry #${newest.seq}, which the chain does not hold: entries were removed`,
        },
      };
    }
    return { ok: true, checked, anchors };
  }

  /** The chain alone: links, hashes, and nothing after the head. */
  async #walk(onEntry?: (entry: AuditEntry) => void): Promise<{
    verdict: AuditVerdict;
    bySeq: Map<number, { hash: string; id: string }>;
    last: { seq: number; id: string } | undefined;
    head: string;
  }> {
    // The head is read first: entries appended while the chain is walked come after it and are
    // checked in a second step against the head as it is then, read together with them.
    let head = (await this.#redis.get(this.#keys.auditHead)) ?? '';
    const bySeq = new Map<number, { hash: string; id: string }>();
    let last: { seq: number; id: string } | undefined;
    let prev = '';
    let checked = 0;
    let lastId = '';
    const result = (verdict: AuditVerdict) => ({ verdict, bySeq, last, head });
    const broken = (id: string, problem: string) => result({ ok: false, checked, broken: { id, problem } });
    /** Checks one entry against the one before; the problem, if any. */
    const check = (entry: AuditEntry): string | undefined => {
      // A compact entry keeps the start of its link; the hash below covers the whole of it, and the
      // entry handed on (to an export) carries the whole link once its start matches.
      const linked = prev.startsWith(entry.prev) && entry.prev.length >= Math.min(prev.length, LINK_CHARS);
      if (linked) entry.prev = prev;
      onEntry?.(entry);
      checked += 1;
      if (!linked) {
        return `its link does not match the entry before it${lastId ? ` (${lastId})` : ''}: an entry before it was removed, changed or reordered`;
      }
      if (this.#hash(prev, canonical(entry, entry.at, entry.seq)) !== entry.hash) {
        return 'its content does not match its hash: the entry was changed';
      }
      prev = entry.hash;
      lastId = entry.id;
      if (entry.seq !== undefined) {
        bySeq.set(entry.seq, { hash: entry.hash, id: entry.id });
        last = { seq: entry.seq, id: entry.id };
      }
      return undefined;
    };
    let reached = head === '';
    for await (const entry of this.entries()) {
      if (head === '') {
        // Nothing was appended when the walk began; an entry now is either newer, or the head is gone.
        if (await this.#redis.exists(this.#keys.auditHead)) break;
        checked = 1;
        return broken(entry.id, 'the chain has entries but no head: its head was removed');
      }
      const problem = check(entry);
      if (problem) return broken(entry.id, problem);
      if (entry.hash === head) {
        reached = true;
        break;
      }
    }
    if (!reached) {
      return broken(
        lastId || '(none)',
        'the chain ends here, but its head names a later entry: entries after it were removed',
      );
    }
    // After the head: the head and what follows it, read at one instant. An append moves the head in
    // the same step as it adds its entry, so everything after the head then was added some other way.
    for (;;) {
      const [[, headNow], [, rest]] = (await this.#redis
        .multi()
        .get(this.#keys.auditHead)
        .xrange(this.#keys.audit, lastId === '' ? '-' : `(${lastId}`, '+', 'COUNT', 500)
        .exec()) as [[unknown, string | null], [unknown, [string, string[]][]]];
      head = headNow ?? '';
      let atHead = prev === head;
      for (const [id, fields] of rest) {
        if (atHead) {
          return broken(
            id,
            "it comes after the chain's head, which does not name it: it was put into the stream outside vmops (forged), and is not part of the chain",
          );
        }
        const entry = parseEntry(id, fields);
        const problem = check(entry);
        if (problem) return broken(entry.id, problem);
        atHead = entry.hash === head;
      }
      if (atHead && rest.length < 500) break;
      if (!atHead && rest.length < 500) {
        return broken(
          lastId || '(none)',
          'the chain ends here, but its head names a later entry: entries after it were removed',
        );
      }
    }
    return result({ ok: true, checked });
  }
}
