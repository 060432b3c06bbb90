// The audit trail on a real Redis: a chain that any change, removal or reordering breaks at a place
// `verify` names; one chain however many processes append at once; an HMAC key that a forger lacks.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditJournal } from '../../src/audit/audit-journal.ts';
import { type AuditEntry, AuditTrail } from '../../src/audit/audit-trail.ts';
import { type RedisKeys, redisKeys } from '../../src/redis/keys.ts';
import { cleanPrefix, redisUrl, testPrefix } from '../helpers/redis.ts';

const opened: { redis: Redis; prefix: string }[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const { redis, prefix } of opened.splice(0)) {
    await cleanPrefix(prefix);
    redis.disconnect();
  }
});

function open(prefix = testPrefix()): { redis: Redis; keys: RedisKeys; prefix: string } {
  const redis = new Redis(redisUrl());
  opened.push({ redis, prefix });
  return { redis, keys: redisKeys(prefix), prefix };
}

async function filled(count: number, key?: string) {
  const { redis, keys, prefix } = open();
  const trail = new AuditTrail(redis, keys, { key });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(
      await trail.append({
        kind: 'command',
        actor: i % 2 ? 'alice' : 'bob',
        account: 'shell:alice',
        room: 'shell:tty',
        summary: `alice: build 2.${i} kvm`,
        detail: { outcome: 'done', jobs: `job${i}` },
      }),
    );
  }
  return { redis, keys, prefix, trail, ids };
}

/** Rewrites the stream as a tamperer with write access would: same ids, one entry's fields changed. */
async function rewrite(redis: Redis, keys: RedisKeys, change: (id: string, fields: string[]) => string[]) {
  const entries = await redis.xrange(keys.audit, '-', '+');
  await redis.del(keys.audit);
  for (const [id, fields] of entries) await redis.xadd(keys.audit, id, ...change(id, fields));
}

describe('audit trail', () => {
  it('verifies an untouched chain', async () => {
    const { trail } = await filled(5);
    expect(await trail.verify()).toEqual({ ok: true, checked: 5 });
  });

  it('names the entry whose content was changed', async () => {
    const { redis, keys, trail, ids } = await filled(5);
    const victim = ids[2] ?? '';
    await rewrite(redis, keys, (id, fields) =>
      id === victim ? fields.map((f) => f.replace('build 2.2 kvm', 'build 2.2 xen')) : fields,
    );
    expect(await trail.verify()).toEqual({
      ok: false,
      checked: 3,
      broken: { id: victim, problem: 'its content does not match its hash: the entry was changed' },
    });
  });

  it('names the entry after one that was removed, and says when the newest entries were cut off', async () => {
    const { redis, keys, trail, ids } = await filled(5);
    await redis.xdel(keys.audit, ids[1] ?? '');
    const removed = await trail.verify();
    expect(removed.broken?.id).toBe(ids[2]);
    expect(removed.broken?.problem).toMatch(
      /^its link does not match the entry before it \(\S+\): an entry before it was removed/,
    );

    const fresh = await filled(4);
    await fresh.redis.xdel(fresh.keys.audit, fresh.ids[3] ?? '');
    expect(await fresh.trail.verify()).toEqual({
      ok: false,
      checked: 3,
      broken: {
        id: fresh.ids[2],
        problem: 'the chain ends here, but its head names a later entry: entries after it were removed',
      },
    });
  });

  it('with a key, refuses a chain a forger recomputed without it', async () => {
    const { redis, keys, ids } = await filled(3, 'a secret of at least sixteen');
    // The forger changes entry 2 and recomputes every hash from there with plain sha256, as the code does without a key.
    const forger = new AuditTrail(redis, keys);
    const entries = [];
    for await (const entry of forger.entries()) entries.push(entry);
    await redis.del(keys.audit, keys.auditHead);
    for (const entry of entries) {
      const { id: _id, at: _at, prev: _prev, hash: _hash, ...fact } = entry;
      await forger.append(entry.id === ids[1] ? { ...fact, summary: 'nothing to see' } : fact);
    }
    expect((await forger.verify()).ok).toBe(true); // consistent without the key…
    const keyed = new AuditTrail(redis, keys, { key: 'a secret of at least sixteen' });
    const verdict = await keyed.verify();
    expect(verdict.ok).toBe(false); // …but not with it
    expect(verdict.broken?.problem).toBe('its content does not match its hash: the entry was changed');
  });

  it('is not fooled by removing the head, and reports a busy chain intact while entries keep coming', async () => {
    const { redis, keys, trail, ids } = await filled(3);
    const appending = Array.from({ length: 40 }, (_, i) =>
      trail.append({ kind: 'command', actor: 'bob', summary: `more ${i}` }),
    );
    // Verifications while appends go on: each sees the chain up to the head it started from.
    const during = await Promise.all([trail.verify(), trail.verify(), trail.verify()]);
    await Promise.all(appending);
    for (const verdict of during) expect(verdict.ok).toBe(true);
    expect(await trail.verify()).toEqual({ ok: true, checked: 43 });
    await redis.del(keys.auditHead);
    expect(await new AuditTrail(redis, keys).verify()).toEqual({
      ok: false,
      checked: 1,
      broken: { id: ids[0], problem: 'the chain has entries but no head: its head was removed' },
    });
  });

  it('keeps one chain when several processes append at once', async () => {
    const { keys, prefix } = open();
    const trails = [0, 1, 2].map(() => new AuditTrail(open(prefix).redis, keys));
    await Promise.all(
      trails.flatMap((trail, t) =>
        Array.from({ length: 30 }, (_, i) =>
          trail.append({ kind: 'command', actor: `p${t}`, summary: `entry ${t}.${i}` }),
        ),
      ),
    );
    expect(await trails[0]?.verify()).toEqual({ ok: true, checked: 90 });
  });

  it('continues a chain stored in the earlier, longer form, and exports every link whole', async () => {
    const { redis, keys } = open();
    // Two entries as vmops stored them before entries were kept compact: the canonical JSON, `prev` whole.
    let prev = '';
    for (const [seq, summary] of [
      [1, 'alice: build 2.1 kvm'],
      [2, 'alice: build 2.2 kvm'],
    ] as const) {
      const body = JSON.stringify({
        seq,
        at: '2026-11-01T10:00:00.000Z',
        kind: 'command',
        actor: 'alice',
        account: null,
        room: null,
        summary,
        detail: null,
      });
      const hash = forgedHash(prev, body);
      await redis.xadd(keys.audit, '*', 'entry', body, 'prev', prev, 'hash', hash, 'seq', String(seq));
      await redis.mset(keys.auditHead, hash, keys.auditSeq, String(seq));
      prev = hash;
    }
    const trail = new AuditTrail(redis, keys);
    await trail.append({
      kind: 'command',
      actor: 'bob',
      summary: 'bob: build 2.3 kvm',
      detail: { jobs: 'j3' },
    });
    await trail.append({ kind: 'command', actor: 'bob', summary: 'bob: build 2.4 kvm' });
    const exported: AuditEntry[] = [];
    expect(await trail.verify((entry) => exported.push(entry))).toEqual({ ok: true, checked: 4 });
    expect(exported.map((entry) => entry.summary)).toEqual([
      'alice: build 2.1 kvm',
      'alice: build 2.2 kvm',
      'bob: build 2.3 kvm',
      'bob: build 2.4 kvm',
    ]);
    exported.forEach((entry, i) => {
      expect(entry.prev).toBe(exported[i - 1]?.hash ?? '');
      expect(entry.hash).toMatch(/^[0-9a-f]{64}$/);
    });
    expect(exported[2]).toMatchObject({ seq: 3, actor: 'bob', detail: { jobs: 'j3' } });

    // The start of a link a compact entry keeps is checked: changing it names the entry.
    const third = exported[2]?.id ?? '';
    await rewrite(redis, keys, (id, fields) =>
      id === third ? fields.map((f, i) => (fields[i - 1] === 'prev' ? '00000000' : f)) : fields,
    );
    expect((await trail.verify()).broken).toEqual({
      id: third,
      problem: `its link does not match the entry before it (${exported[1]?.id}): an entry before it was removed, changed or reordered`,
    });
  });
});

/** A trail anchored in a journal in a fresh directory, with `count` entries. */
async function anchored(count: number) {
  const { redis, keys } = open();
  const dir = mkdtempSync(join(tmpdir(), 'vmops-audit-'));
  dirs.push(dir);
  const journal = new AuditJournal(dir, 'bot-1');
  const trail = new AuditTrail(redis, keys, { journal });
  for (let i = 0; i < count; i++) {
    await trail.append({ kind: 'command', actor: 'alice', summary: `alice: build 2.${i} kvm` });
  }
  await trail.flush();
  const entries: AuditEntry[] = [];
  for await (const entry of trail.entries()) entries.push(entry);
  /** The trail as verified later, by a process that only has the journals on disk. */
  const later = () => new AuditTrail(redis, keys, { journalDir: dir });
  return { redis, keys, dir, journal, trail, entries, later };
}

/** The plain-sha256 hash of an entry as the code computes it without a key (what a forger can do). */
function forgedHash(prev: string, body: string): string {
  return createHash('sha256').update(`${prev}\n${body}`).digest('hex');
}

describe('audit anchors', () => {
  it('names the newest entries removed with the head set back, which the chain alone cannot show', async () => {
    const { redis, keys, entries, later, journal } = await anchored(20);
    expect(statSync(journal.path).mode & 0o777).toBe(0o600);
    expect(await later().verify()).toEqual({
      ok: true,
      checked: 20,
      anchors: { journals: 1, anchors: 20, checkpoints: 0 },
    });
    // The tamperer removes the 5 newest entries and sets the head (and the count) to the last one left.
    for (const entry of entries.slice(15)) await redis.xdel(keys.audit, entry.id);
    const kept = entries[14];
    await redis.set(keys.auditHead, kept?.hash ?? '');
    await redis.set(keys.auditSeq, String(kept?.seq));
    // Without the anchors, the chain looks whole…
    expect(await new AuditTrail(redis, keys).verify()).toEqual({ ok: true, checked: 15 });
    // …with them, what is missing is named.
    const verdict = await later().verify();
    expect(verdict.ok).toBe(false);
    expect(verdict.broken?.id).toBe(kept?.id);
    expect(verdict.broken?.problem).toMatch(
      /^the chain ends at entry #15, but the journal journal-bot-1\.jsonl vouches for entries up to #20 \(appended \S+\): the 5 newest entries were removed and the head set back$/,
    );
  });

  it('names an entry forged after the head, and audit leaves it out', async () => {
    const { redis, keys, entries, trail } = await anchored(4);
    const last = entries.at(-1);
    const body = JSON.stringify({
      seq: 5,
      at: new Date().toISOString(),
      kind: 'command',
      actor: 'root',
      account: null,
      room: null,
      summary: 'root: oncall set mallory',
      detail: null,
    });
    const forged = await redis.xadd(
      keys.audit,
      '*',
      'entry',
      body,
      'prev',
      last?.hash ?? '',
      'hash',
      forgedHash(last?.hash ?? '', body),
      'seq',
      '5',
    );
    const verdict = await new AuditTrail(redis, keys).verify();
    expect(verdict).toEqual({
      ok: false,
      checked: 4,
      broken: {
        id: forged,
        problem:
          "it comes after the chain's head, which does not name it: it was put into the stream outside vmops (forged), and is not part of the chain",
      },
    });
    expect((await trail.recent(4)).map((entry) => entry.summary)).not.toContain('root: oncall set mallory');
    expect((await trail.recent(1))[0]?.id).toBe(last?.id);
  });

  it('names a head rewritten together with its entry', async () => {
    const { redis, keys, entries, later } = await anchored(6);
    const last = entries.at(-1);
    const before = entries.at(-2);
    if (!last || !before) throw new Error('no entries');
    const body = JSON.stringify({
      seq: 6,
      at: last.at,
      kind: 'command',
      actor: 'alice',
      account: null,
      room: null,
      summary: 'alice: nothing happened',
      detail: null,
    });
    const hash = forgedHash(before.hash, body);
    await redis.xdel(keys.audit, last.id);
    const id = await redis.xadd(
      keys.audit,
      '*',
      'entry',
      body,
      'prev',
      before.hash,
      'hash',
      hash,
      'seq',
      '6',
    );
    await redis.set(keys.auditHead, hash);
    expect((await new AuditTrail(redis, keys).verify()).ok).toBe(true); // consistent on its own
    const verdict = await later().verify();
    expect(verdict.broken?.id).toBe(id);
    expect(verdict.broken?.problem).toMatch(
      /^it is entry #6, but the journal journal-bot-1\.jsonl has another hash for #6 \(appended \S+\): the entry was rewritten, and the head with it$/,
    );
  });

  it('checks a chain against a checkpoint it is given', async () => {
    const { redis, keys, entries } = await anchored(3);
    const plain = new AuditTrail(redis, keys);
    const third = entries[2];
    expect((await plain.verify(undefined, [{ seq: 3, hash: third?.hash ?? '' }])).ok).toBe(true);
    const verdict = await plain.verify(undefined, [{ seq: 9, hash: 'ab'.repeat(32) }]);
    expect(verdict.broken?.problem).toBe(
      'the chain ends at entry #3, but the checkpoint given vouches for entries up to #9: the 6 newest entries were removed and the head set back',
    );
  });

  it('anchors every entry of several processes, each in its own journal', async () => {
    const { keys, prefix } = open();
    const dir = mkdtempSync(join(tmpdir(), 'vmops-audit-'));
    dirs.push(dir);
    const trails = [0, 1, 2].map(
      (i) => new AuditTrail(open(prefix).redis, keys, { journal: new AuditJournal(dir, `p${i}`) }),
    );
    await Promise.all(
      trails.flatMap((trail, t) =>
        Array.from({ length: 20 }, (_, i) =>
          trail.append({ kind: 'command', actor: `p${t}`, summary: `entry ${t}.${i}` }),
        ),
      ),
    );
    for (const trail of trails) await trail.flush();
    expect(await new AuditTrail(open(prefix).redis, keys, { journalDir: dir }).verify()).toEqual({
      ok: true,
      checked: 60,
      anchors: { journals: 3, anchors: 60, checkpoints: 0 },
    });
  });
});
