// Handled events and image locks as fields of shared hashes, on a real Redis: an event handled once is
// never run again while it is remembered, across the end of its period and between instances whose
// clocks differ; a command too old to run that was handled before is not reported as ignored; a lock
// kept the older way (a key per image) is still honoured and released.
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { admit, claimIgnored, type IngressOptions } from '../../src/pipeline/ingress.ts';
import { imageLock, releaseLock, takeLock } from '../../src/queue/image-lock.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { eventState } from '../helpers/event-state.ts';
import { message } from '../helpers/fake-chat.ts';
import { cleanPrefix, redisUrl, testPrefix } from '../helpers/redis.ts';

const redis = new Redis(redisUrl());
const prefixes: string[] = [];
afterEach(async () => {
  for (const prefix of prefixes.splice(0)) await cleanPrefix(prefix);
});
afterAll(() => redis.disconnect());

const DAY = 24 * 3600_000;
/** Ingress on a fresh prefix whose clock reads `clock.now`, remembering events for a day. */
function ingress(prefix = testPrefix()) {
  prefixes.push(prefix);
  const clock = { now: Date.now() };
  const options = (instanceId: string): IngressOptions => ({
    redis,
    keys: redisKeys(prefix),
    maxAgeMs: 10 * DAY,
    instanceId,
    rememberMs: DAY,
    now: () => clock.now,
  });
  return { prefix, clock, options };
}

async function handled(event: ReturnType<typeof message>, options: IngressOptions): Promise<void> {
  const verdict = await admit(event, options);
  if (!verdict.admit) throw new Error('expected the event to be admitted');
  await verdict.release('done');
}

describe('remembered events', () => {
  it('refuses a handled event again in the next period, and on an instance whose clock is a period behind', async () => {
    const { clock, options } = ingress();
    // Handled a moment before its period ends.
    clock.now = (Math.floor(Date.now() / DAY) + 1) * DAY - 5;
    const event = message('build 2.6 kvm', { sentAt: clock.now });
    await handled(event, options('a'));
    expect(await eventState(event, options('a'))).toBe('done');
    clock.now += 10; // the next period
    expect(await admit(event, options('b'))).toEqual({ admit: false, reason: 'duplicate' });
    clock.now -= 20; // an instance whose clock is behind
    expect(await admit(event, options('c'))).toEqual({ admit: false, reason: 'duplicate' });
  });

  it('keeps the period of handled events a period after it ends, and no longer', async () => {
    const { clock, options } = ingress();
    clock.now = Math.floor(Date.now() / DAY) * DAY + 1000;
    const event = message('build 2.6 kvm', { sentAt: clock.now });
    await handled(event, options('a'));
    const expiresAt = await redis.pexpiretime(options('a').keys.eventsDone(Math.floor(clock.now / DAY)));
    // Remembered at least a day from when it was handled, and at most two.
    expect(expiresAt).toBeGreaterThanOrEqual(clock.now + DAY);
    expect(expiresAt).toBeLessThanOrEqual(clock.now + 2 * DAY);
  });

  it('runs an event again whose handling failed, and forgets nothing else', async () => {
    const { options } = ingress();
    const failed = message('build 2.6 kvm');
    const done = message('build 2.7 kvm');
    const first = await admit(failed, options('a'));
    if (!first.admit) throw new Error('expected the event to be admitted');
    await first.release('failed');
    await handled(done, options('a'));
    expect(await eventState(failed, options('a'))).toBeNull();
    expect((await admit(failed, options('b'))).admit).toBe(true);
    expect((await admit(done, options('b'))).admit).toBe(false);
  });

  it('does not report a handled command as ignored when a late redelivery is too old to run', async () => {
    const { options } = ingress();
    const event = message('build 2.6 kvm');
    await handled(event, options('a'));
    expect(await claimIgnored(event, options('a'))).toBe(false);
    const unseen = message('build 2.7 kvm');
    expect(await claimIgnored(unseen, options('a'))).toBe(true);
    expect(await claimIgnored(unseen, options('a'))).toBe(false);
  });
});

describe('image locks', () => {
  const lockFor = (prefix: string) =>
    imageLock(redisKeys(prefix), { product: 'cernvm', version: '2.6', format: 'kvm' });

  it('honours and releases a lock kept as a key of its own, as bots before the hash kept it', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const lock = lockFor(prefix);
    await redis.set(lock.legacyKey, 'older-job', 'PX', DAY);
    expect(await takeLock(redis, lock, 'new-job')).toBe('older-job');
    await releaseLock(redis, lock, 'new-job'); // not its lock: nothing changes
    expect(await redis.get(lock.legacyKey)).toBe('older-job');
    await releaseLock(redis, lock, 'older-job');
    expect(await redis.exists(lock.legacyKey)).toBe(0);
    expect(await takeLock(redis, lock, 'new-job')).toBeUndefined();
    expect(await redis.hget(lock.hash, lock.field)).toBe('new-job');
    expect(await takeLock(redis, lock, 'third-job')).toBe('new-job');
  });
});
