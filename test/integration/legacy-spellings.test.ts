// A catalog kept from before versions had one spelling holds `2.07`; revoked there, 2.7 stays revoked:
// the bot indexes such spellings once per product at start, and its gates find them with the version's
// own read. A product configured only later is indexed at the first start that has it.
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { type Engine, sayAndWait, startEngine, testConfig } from '../helpers/engine.ts';
import { redisUrl } from '../helpers/redis.ts';

let engine: Engine | undefined;
const redis = new Redis(redisUrl());
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});
afterAll(() => redis.disconnect());

describe('versions stored under an old spelling', () => {
  it('keep their revocation for the canonical version, until the old spelling is expunged', async () => {
    const config = testConfig();
    const keys = redisKeys(config.redis.prefix);
    // What an older bot stored: 2.07 (and 2.6, canonical), 2.07 revoked.
    await redis.zadd(keys.versions('cernvm'), 1, '2.07', 2, '2.6');
    await redis.hset(
      keys.version('cernvm', '2.07'),
      'revoked',
      JSON.stringify({ at: 1, by: 'bob', reason: 'CVE-2024-1234' }),
    );
    engine = await startEngine({ config });

    const refused = await sayAndWait(engine, 'build 2.7 kvm', 'alice');
    expect(refused.jobs).toEqual([]);
    expect(refused.reply).toContain('cernvm 2.7 was revoked (CVE-2024-1234): it cannot be built again.');
    // Another version is not held back.
    const built = await sayAndWait(engine, 'build 2.6 kvm', 'alice');
    expect(built.reply).toMatch(/✅ build cernvm 2\.6 kvm · job \S+ · succeeded/);

    // Expunged (what `expunge cernvm 2.07` runs once approved), the old spelling no longer holds 2.7.
    const catalog = new Catalog(redis, keys);
    await catalog.expunge('cernvm', '2.07');
    expect((await catalog.versionAndSpellings('cernvm', '2.7')).otherSpellings).toEqual([]);
    const again = await sayAndWait(engine, 'build 2.7 kvm', 'alice');
    expect(again.reply).toMatch(/✅ build cernvm 2\.7 kvm · job \S+ · succeeded/);
  });

  it('are indexed for a product first configured after the catalog was indexed, so its revocation holds', async () => {
    const config = testConfig();
    const keys = redisKeys(config.redis.prefix);
    // demo held 1.03, revoked, while a bot ran with cernvm only (as the marker of then said: all indexed).
    await redis.zadd(keys.versions('demo'), 1, '1.03');
    await redis.hset(
      keys.version('demo', '1.03'),
      'revoked',
      JSON.stringify({ at: 1, by: 'bob', reason: 'CVE-2024-9999' }),
    );
    await redis.set(keys.legacySpellingsIndexedOnce, '1');
    const catalog = new Catalog(redis, keys);
    await catalog.indexLegacySpellings(['cernvm']);
    expect((await catalog.versionAndSpellings('demo', '1.3')).otherSpellings).toEqual([]);

    // demo is configured now: the next start indexes it, and 1.3 is found revoked under its old spelling.
    await catalog.indexLegacySpellings(['cernvm', 'demo']);
    expect((await catalog.versionAndSpellings('demo', '1.3')).otherSpellings).toEqual(['1.03']);
    expect(await redis.exists(keys.legacySpellingsIndexedOnce)).toBe(0);
    expect(await redis.smembers(keys.legacySpellingsIndexed)).toEqual(
      expect.arrayContaining(['cernvm', 'demo']),
    );
  });
});
