// One stage job per image at a time: a job holds a lock on its image (product, version and format),
// or on its version and cloud for deploys, from when it is queued until it ends. The lock names the
// job, so a lock whose job has ended (or vanished) is simply taken over; it needs no expiry of its
// own, and the locks are the fields of one hash (a key per lock cost twice the memory). A lock kept
// the older way, one key per image with an expiry, is still honoured and released.
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.ts';
import { LuaScript } from '../redis/lua-script.ts';

/** What a job works on, for the lock key: a format, a cloud, or the whole version. */
export function lockTarget(job: { format?: string; cloud?: string }): string {
  if (job.format !== undefined) return job.format;
  if (job.cloud !== undefined) return `cloud:${job.cloud}`;
  return 'version';
}

/** Where an image's lock is: the hash of locks and its field, and the key an older bot kept it under. */
export interface ImageLock {
  hash: string;
  field: string;
  legacyKey: string;
}

export function imageLock(
  keys: RedisKeys,
  job: { product: string; version: string; format?: string; cloud?: string },
): ImageLock {
  const what = lockTarget(job);
  return {
    hash: keys.busyImages,
    field: `${job.product}:${job.version}:${what}`,
    legacyKey: keys.busy(job.product, job.version, what),
  };
}

/** Lua: the job holding a lock (hash KEYS[h], field ARGV[f], older key KEYS[l]), or false. */
export const LOCK_HOLDER = (h: string, f: string, l: string) =>
  `(redis.call('HGET', ${h}, ${f}) or redis.call('GET', ${l}))`;

/** Takes a lock for ARGV[1] when it is free (1), or answers the job holding it. */
const TAKE = `
local holder = ${LOCK_HOLDER('KEYS[1]', 'ARGV[2]', 'KEYS[2]')}
if holder and holder ~= ARGV[1] then return holder end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
return 1`;
const TAKE_SCRIPT = new LuaScript(TAKE, 2);

const RELEASE = `
if redis.call('HGET', KEYS[1], ARGV[2]) == ARGV[1] then redis.call('HDEL', KEYS[1], ARGV[2]) end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1`;
const RELEASE_SCRIPT = new LuaScript(RELEASE, 2);

/** Takes an image's lock for `jobId` when it is free or already its own: undefined; else the job that holds it. */
export async function takeLock(redis: Redis, lock: ImageLock, jobId: string): Promise<string | undefined> {
  const answer = await TAKE_SCRIPT.run(redis, [lock.hash, lock.legacyKey], [jobId, lock.field]);
  return typeof answer === 'string' ? answer : undefined;
}

/** Gives an image's lock to `jobId` whoever holds it (once the holder is known to be over). */
export async function forceLock(redis: Redis, lock: ImageLock, jobId: string): Promise<void> {
  await redis.hset(lock.hash, lock.field, jobId);
}

/** Releases a job's lock if it still holds it. */
export async function releaseLock(redis: Redis, lock: ImageLock, jobId: string): Promise<void> {
  await RELEASE_SCRIPT.run(redis, [lock.hash, lock.legacyKey], [jobId, lock.field]);
}
