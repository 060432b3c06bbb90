// A catalog kept from before versions had one spelling holds `2.07`; revoked there, 2.7 stays revoked:
// the bot indexes such spellings once at start, and its gates find them with the version's own read.
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
});
