// The audit trail on a real Redis: a chain that any change, removal or reordering breaks at a place
// `verify` names; one chain however many processes append at once; an HMAC key that a forger lacks.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { type RedisKeys, redisKeys } from '../../src/redis/keys.ts';
import { cleanPrefix, redisUrl, testPrefix } from '../helpers/redis.ts';

const opened: { redis: Redis; prefix: string }[] = [];
afterEach(async () => {
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
});
