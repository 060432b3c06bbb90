// An audit entry's forms: the fact a process appends, the JSON its hash covers (canonical), the compact
// form the stream keeps (about half the bytes) and the entry read back from either form the stream
// has held. Pure: no Redis here.

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
  /** Hash of the previous entry ('' for the first), or its first characters in an entry stored compactly. */
  prev: string;
  /** Hash of this entry. */
  hash: string;
  /** Place in the chain (1, 2, …), for entries appended since entries carry one. */
  seq?: number;
}

/**
 * How much of the previous entry's hash a compact entry keeps: enough to tell a broken link from changed
 * content. The chain's strength does not rest on it: each hash covers the whole previous hash, and
 * `verify` computes it from the entry before, not from what the entry says.
 */
export const LINK_CHARS = 8;

/**
 * An entry's content as stored: the canonical fields but the sequence number (a field of its own) as
 * an array, in canonical order, the time in ms: about half the bytes of the canonical JSON, which
 * `verify` computes again from these fields.
 */
export function compact(fact: AuditFact, at: string): string {
  return JSON.stringify([
    Date.parse(at),
    fact.kind,
    fact.actor,
    fact.account ?? null,
    fact.room ?? null,
    fact.summary,
    compactDetail(fact.detail),
  ]);
}

/** The detail every handled command has, in this order: stored as an array of its values. */
const COMMAND_DETAIL = ['outcome', 'code', 'jobs', 'event'] as const;

/** A detail of exactly COMMAND_DETAIL's fields as the array of their values; any other as it is. */
function compactDetail(detail: AuditFact['detail']): unknown {
  if (!detail) return null;
  const fields = Object.keys(detail);
  const commandLike =
    fields.length === COMMAND_DETAIL.length && COMMAND_DETAIL.every((field) => Object.hasOwn(detail, field));
  return commandLike ? COMMAND_DETAIL.map((field) => detail[field]) : detail;
}

/** The detail as the fact had it (see compactDetail). */
function fullDetail(stored: unknown): unknown {
  if (!Array.isArray(stored)) return stored;
  return Object.fromEntries(COMMAND_DETAIL.map((field, i) => [field, stored[i]]));
}

/** An entry's stored hash as hex: base64url (43 characters) since entries were made smaller, hex before. */
function hexHash(stored: string): string {
  return /^[A-Za-z0-9_-]{43}$/.test(stored) ? Buffer.from(stored, 'base64url').toString('hex') : stored;
}

/** The JSON an entry's hash covers: its fields in a fixed order (the sequence number when it has one). */
export function canonical(fact: AuditFact, at: string, seq: number | undefined): string {
  return JSON.stringify({
    ...(seq === undefined ? {} : { seq }),
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

/**
 * Reads an entry in either form: compact (`entry` a JSON array, `prev` the start of the link, `seq`)
 * or as first stored (`entry` the canonical JSON object, `prev` whole).
 */
export function parseEntry(id: string, fields: string[]): AuditEntry {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] ?? '', fields[i + 1] ?? '');
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(map.get('entry') ?? '{}');
    if (Array.isArray(parsed)) {
      const [ms, kind, actor, account, room, summary, detail] = parsed as unknown[];
      const seq = map.get('seq');
      body = {
        seq: seq !== undefined && /^\d+$/.test(seq) ? Number(seq) : undefined,
        at: typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : '',
        kind,
        actor,
        account,
        room,
        summary,
        detail: fullDetail(detail),
      };
    } else if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    // A mangled entry: verification reports it, as its hash cannot match.
  }
  return entryFrom(id, body, map.get('prev') ?? '', hexHash(map.get('hash') ?? ''));
}

function entryFrom(id: string, body: Record<string, unknown>, prev: string, hash: string): AuditEntry {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const entry: AuditEntry = {
    id,
    at: text(body.at) ?? '',
    kind: text(body.kind) ?? '',
    actor: text(body.actor) ?? '',
    summary: text(body.summary) ?? '',
    prev,
    hash,
  };
  if (typeof body.seq === 'number') entry.seq = body.seq;
  const account = text(body.account);
  if (account !== undefined) entry.account = account;
  const room = text(body.room);
  if (room !== undefined) entry.room = room;
  if (body.detail && typeof body.detail === 'object')
    entry.detail = body.detail as AuditEntry['detail'] & object;
  return entry;
}
