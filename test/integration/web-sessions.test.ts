// Login links while local mode's web console is still starting: local mode answers a piped script's
// first commands before the console listens (issue 17), so a `login` asked for then waits for the
// console's address instead of saying there is no console.
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/redis/connect.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { WebSessions } from '../../src/web/sessions.ts';
import { cleanPrefix, redisUrl, testPrefix } from '../helpers/redis.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function sessions(): WebSessions {
  const prefix = testPrefix();
  const redis = connectRedis(redisUrl());
  cleanups.push(
    () => cleanPrefix(prefix),
    () => redis.disconnect(),
  );
  return new WebSessions(redis, redisKeys(prefix), { loginTtlMs: 60_000, sessionTtlMs: 60_000 });
}

describe('login links while the console starts', () => {
  it('a link asked for before the console listens waits for, and names, its address', async () => {
    const web = sessions();
    const listening = Promise.withResolvers<void>();
    web.startingAt(listening.promise);
    const link = web.loginLink('alice');
    web.servedAt('http://127.0.0.1:43210');
    listening.resolve();
    expect((await link).url).toMatch(/^http:\/\/127\.0\.0\.1:43210\/login\/[A-Za-z0-9_-]{43}$/);
  });

  it('when the console fails to start, the link says there is no console', async () => {
    const web = sessions();
    const listening = Promise.withResolvers<void>();
    web.startingAt(listening.promise);
    const link = web.loginLink('alice');
    listening.reject(new Error('EACCES'));
    await expect(link).rejects.toMatchObject({ code: 'not_available' });
  });
});
