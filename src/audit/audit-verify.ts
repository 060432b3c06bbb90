// Verifying the audit trail: the walk of the chain (each entry's hash over its link and content, each
// link the entry before, nothing after the head) and the comparison with the anchors outside Redis
// (the journals of the processes on this host and the checkpoints given). audit-trail.ts appends.
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.ts';
import { type AuditEntry, canonical, LINK_CHARS, parseEntry } from './audit-entry.ts';
import type { readJournals } from './audit-journal.ts';

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

/** What the walk needs of the trail. */
export interface ChainReader {
  redis: Redis;
  keys: RedisKeys;
  /** The entry hash (or HMAC) of a body on its link. */
  hash(prev: string, body: string): string;
  /** Every entry, oldest first. */
  entries(): AsyncGenerator<AuditEntry>;
}

/** The walk's verdict, and where each sequence number is in the chain (for the anchors). */
export interface WalkedChain {
  verdict: AuditVerdict;
  bySeq: Map<number, { hash: string; id: string }>;
  last: { seq: number; id: string } | undefined;
  head: string;
}

/** The chain alone: links, hashes, and nothing after the head. */
export async function walkChain(
  deps: ChainReader,
  onEntry?: (entry: AuditEntry) => void,
): Promise<WalkedChain> {
  // The head is read first: entries appended while the chain is walked come after it and are
  // checked in a second step against the head as it is then, read together with them.
  let head = (await deps.redis.get(deps.keys.auditHead)) ?? '';
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
    if (deps.hash(prev, canonical(entry, entry.at, entry.seq)) !== entry.hash) {
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
  for await (const entry of deps.entries()) {
    if (head === '') {
      // Nothing was appended when the walk began; an entry now is either newer, or the head is gone.
      if (await deps.redis.exists(deps.keys.auditHead)) break;
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
    const [[, headNow], [, rest]] = (await deps.redis
      .multi()
      .get(deps.keys.auditHead)
      .xrange(deps.keys.audit, lastId === '' ? '-' : `(${lastId}`, '+', 'COUNT', 500)
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

/** Compares a chain that walked clean with what the journals and checkpoints vouch for. */
export function compareAnchors(
  walked: WalkedChain,
  journals: Awaited<ReturnType<typeof readJournals>>,
  checkpoints: readonly AuditCheckpointClaim[],
): AuditVerdict {
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
