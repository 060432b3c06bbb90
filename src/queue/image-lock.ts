// One stage job per image at a time: a job holds a lock on its image (product, version and format),
// or on its version and cloud for deploys, from when it is queued until it ends. The lock names the
// job, so a lock whose job has ended (or vanished) is simply taken over.
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.ts';
import { LuaScript } from '../redis/lua-script.ts';

/** What a job works on, for the lock key: a format, a cloud, or the whole version. */
export function lockTarget(job: { format?: string; cloud?: string }): string {
  if (job.format !== undefined) return job.format;
  if (job.cloud !== undefined) return `cloud:${job.cloud}`;
  return 'version';
}

export function lockKey(
  keys: RedisKeys,
  job: { product: string; version: string; format?: string; cloud?: string },
): string {
  return keys.busy(job.product, job.version, lockTarget(job));
}

/** Long enough for any stage; the worker releases it when the job ends. */
export const LOCK_MS = 24 * 3600_000;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const RELEASE_SCRIPT = new LuaScript(RELEASE, 1);

/** Releases a job's lock if it still holds it. */
export async function releaseLock(redis: Redis, key: string, jobId: string): Promise<void> {
  await RELEASE_SCRIPT.run(redis, [key], [jobId]);
}
