// The per-person throttle on a real Redis: a flood is cut at the limit with one reply, every bot
// instance shares the count, and the window ends.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisThrottle } from '../../src/pipeline/throttle.ts';
import { cleanPrefix, redisUrl, testPrefix } from '../helpers/redis.ts';

const opened: { redis: Redis; prefix: string }[] = [];
afterEach(async () => {
  for (const { redis, prefix } of opened.splice(0)) {
    await cleanPrefix(prefix);
    redis.disconnect();
  }
});

function connection(prefix: string): Redis {
  const redis = new Redis(redisUrl());
  opened.push({ redis, prefix });
  return redis;
}

describe('throttle', () => {
  it('lets the limit through, answers the first refusal only, and shares the count between instances', async () => {
    const prefix = testPrefix();
    const limit = { commands: 5, perMs: 60_000 };
    const one = redisThrottle(connection(prefix), prefix, limit);
    const two = redisThrottle(connection(prefix), prefix, limit);
    const verdicts = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? one : two).check('alice', 'slack')),
    );
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(5);
    const replies = verdicts.flatMap((v) => (v.reply ? [v.reply] : []));
    expect(replies).toEqual([
      expect.stringMatching(
        /^Too many commands: alice gave more than 5 in 1 minute\. Nothing more is done for you for (1 minute|\d+ seconds); commands given until then are dropped, not queued, and get no further answer\.$/,
      ),
    ]);
    // Someone else is not held up by alice's flood.
    expect((await one.check('bob', 'slack')).allowed).toBe(true);
  });

  it('does not count the networks it exempts (the terminal of local mode)', async () => {
    const prefix = testPrefix();
    const throttle = redisThrottle(connection(prefix), prefix, { commands: 2, perMs: 60_000 }, ['shell']);
    const verdicts = await Promise.all(Array.from({ length: 10 }, () => throttle.check('alice', 'shell')));
    expect(verdicts.every((v) => v.allowed)).toBe(true);
    expect((await throttle.check('alice', 'slack')).allowed).toBe(true);
  });

  it('lets commands through again once the window is over', async () => {
    const prefix = testPrefix();
    const throttle = redisThrottle(connection(prefix), prefix, { commands: 2, perMs: 1000 });
    expect((await throttle.check('carol', 'slack')).allowed).toBe(true);
    expect((await throttle.check('carol', 'slack')).allowed).toBe(true);
    expect((await throttle.check('carol', 'slack')).allowed).toBe(false);
    const redis = connection(prefix);
    // Wait for the window's key to expire in Redis (the only event there is to wait for).
    for (let i = 0; i < 100 && (await redis.exists(`${prefix}:throttle:carol`)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await throttle.check('carol', 'slack')).allowed).toBe(true);
  });
});
