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
import { runScripts, type ScriptCall } from '../redis/script-batch.ts';
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
import { type AuditCheckpointClaim, type AuditVerdict, compareAnchors, walkChain } from './audit-verify.ts';

export type { AfterAppend } from './audit-append-script.ts';
export type { AuditEntry, AuditFact, AuditKind } from './audit-entry.ts';
export type { AuditCheckpointClaim, AuditVerdict } from './audit-verify.ts';

/** What the append answers: {1, the entry's id} or {0, the head now, the sequence number now}. */
type AppendResult = [number, string, string?];

/** At most this many appends go in one script. */
const GROUP_MAX = 64;

/** An append waiting for its turn (see appendIn). */
interface Waiting {
  fact: AuditFact;
  build(step: AfterAppend): AppendingScript<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** A script that appends an entry as one of its steps (see appendIn), and how to read its answer. */
export interface AppendingScript<T> extends ScriptCall {
  /** The append's answer in the script's (none when the script stopped before it), and the value to resolve with. */
  answer(result: unknown): { appended?: unknown; value: T };
}

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
  /** Appends waiting for the one in flight: they go together in one script once it is back (group commit). */
  #waiting: Waiting[] = [];
  /** The appends in flight, until they are all written (or failed). */
  #flight: Promise<void> | undefined;
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
    return this.appendIn(fact, (step) => ({
      script: after ? appendThenScript(after) : APPEND_SCRIPT,
      keys: after ? [...step.keys, ...after.keys] : step.keys,
      args: after ? [...step.args, ...after.args] : step.args,
      answer: (result) => ({ appended: result, value: (result as AppendResult)[1] }),
    }));
  }

  /**
   * Appends a fact as a step of another module's script (one that does something else in the same
   * step, only when the entry is appended; see queue-job.ts): `build` makes the script around `step`
   * (the append, as Lua with its keys and arguments) and reads its answer: what the append answered
   * (nothing when the script stopped before it) and the value to resolve with. A moved head builds and
   * runs it again, on the new head.
   *
   * Appends of this process wait while one is in flight, then go together, chained one onto the other,
   * in one script (group commit: script-batch.ts): as many round trips as one append, however many
   * commands arrive meanwhile.
   */
  appendIn<T>(fact: AuditFact, build: (step: AfterAppend) => AppendingScript<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ fact, build, resolve: resolve as (value: unknown) => void, reject });
      this.#flight ??= this.#drain().finally(() => {
        this.#flight = undefined;
      });
    });
  }

  /** Sends what waits, a batch at a time, until nothing does. */
  async #drain(): Promise<void> {
    while (this.#waiting.length > 0) {
      let batch = this.#waiting.splice(0, GROUP_MAX);
      await pRetry(
        async () => {
          batch = await this.#appendBatch(batch);
          if (batch.length > 0) throw new HeadMoved();
        },
        {
          retries: 200,
          minTimeout: 1,
          maxTimeout: 50,
          factor: 1.5,
          randomize: true,
          shouldRetry: ({ error }) => error instanceof HeadMoved,
        },
      ).catch((error: unknown) => {
        for (const waiting of batch) waiting.reject(error);
      });
    }
  }

  /**
   * The optimistic append of a batch: each entry computed on the one before it, from the head last
   * seen, in one script; an entry is appended if the head is still the one it was computed on. A
   * refusal means another process appended (the chain always progresses); the refused ones and those
   * after them are given back to try again on the head now known.
   */
  async #appendBatch(batch: readonly Waiting[]): Promise<Waiting[]> {
    this.#head ??= await this.head();
    let { hash: prev, seq } = this.#head;
    const at = new Date(this.#now()).toISOString();
    const keys = [this.#keys.audit, this.#keys.auditHead, this.#keys.auditSeq];
    const built = batch.flatMap((waiting) => {
      const hash = this.#hash(prev, canonical(waiting.fact, at, seq + 1));
      const stored = Buffer.from(hash, 'hex').toString('base64url');
      const args = [prev, compact(waiting.fact, at), hash, seq + 1, prev.slice(0, LINK_CHARS), stored];
      try {
        const script = waiting.build({ lua: APPEND, keys, args });
        seq += 1;
        prev = hash;
        return [{ waiting, hash, seq, script }];
      } catch (error) {
        waiting.reject(error); // its script could not be made: only it fails
        return [];
      }
    });
    if (built.length === 0) return [];
    const answers = await runScripts(
      this.#redis,
      built.map((b) => b.script),
    );
    const again: Waiting[] = [];
    built.forEach(({ waiting, hash, seq, script }, i) => {
      const answer = answers[i];
      let read: { appended?: unknown; value: unknown };
      try {
        if (answer instanceof Error) throw answer;
        read = script.answer(answer);
      } catch (error) {
        this.#head = undefined; // the script failed somewhere: read the head again
        waiting.reject(error);
        return;
      }
      const appended = read.appended as AppendResult | undefined;
      if (!appended) {
        waiting.resolve(read.value); // not appended: its script stopped before the append
      } else if (appended[0] === 1) {
        this.#head = { hash, seq };
        this.#journal?.note({ seq, hash, id: appended[1], at });
        waiting.resolve(read.value);
      } else {
        // Another process appended meanwhile (or an entry before it in the batch was not): chain onto the head now.
        this.#head = { hash: appended[1], seq: Number(appended[2] ?? 0) };
        again.push(waiting);
      }
    });
    return again;
  }

  /** The chain's head now: the newest entry's hash and sequence number (for appends and checkpoints). */
  async head(): Promise<{ hash: string; seq: number }> {
    const [hash, seq] = await this.#redis.mget(this.#keys.auditHead, this.#keys.auditSeq);
    return { hash: hash ?? '', seq: Number(seq ?? 0) };
  }

  /** Waits until every entry this process appended is anchored in its journal on disk. */
  async flush(): Promise<void> {
    while (this.#flight) await this.#flight;
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
   * given checkpoint vouches for must be in the chain, at its place, with its hash (audit-verify.ts).
   */
  async verify(
    onEntry?: (entry: AuditEntry) => void,
    checkpoints: readonly AuditCheckpointClaim[] = [],
  ): Promise<AuditVerdict> {
    // Anchors first: whatever they vouch for was in the chain before the walk begins.
    await this.flush().catch(() => undefined);
    const journalDir = this.#journalDir ?? this.#journal?.dir;
    const journals = journalDir === undefined ? [] : await readJournals(journalDir);
    const walked = await walkChain(
      {
        redis: this.#redis,
        keys: this.#keys,
        hash: (prev, body) => this.#hash(prev, body),
        entries: () => this.entries(),
      },
      onEntry,
    );
    if (!walked.verdict.ok || (journalDir === undefined && checkpoints.length === 0)) return walked.verdict;
    return compareAnchors(walked, journals, checkpoints);
  }
}
