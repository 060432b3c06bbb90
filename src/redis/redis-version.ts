// BullMQ reads INFO to check the Redis version once for every Queue, QueueEvents and Worker it makes;
// with a queue-events reader per stage queue that is one round trip and one parse of INFO each, at
// start-up (issue 17). This reads it once, so the BullMQ objects that do not depend on the version
// can be made with skipVersionCheck.
import type { Redis } from 'ioredis';

/** BullMQ's minimum (RedisConnection.minimumVersion in bullmq 6). */
const MINIMUM = [5, 0, 0];

function atLeast(version: string, minimum: readonly number[]): boolean {
  const parts = version.split('.').map((part) => Number.parseInt(part, 10));
  for (let i = 0; i < minimum.length; i++) {
    const have = parts[i] ?? 0;
    const want = minimum[i] ?? 0;
    if (Number.isNaN(have)) return false;
    if (have !== want) return have > want;
  }
  return true;
}

/**
 * True when the server is a Redis that BullMQ accepts, so BullMQ need not check again. False when INFO
 * is refused, the server is another database (Valkey, Dragonfly: BullMQ treats them apart) or the
 * version is too old: BullMQ then checks for itself and reports it as it always did.
 */
export async function bullmqVersionChecked(redis: Redis): Promise<boolean> {
  let info: string;
  try {
    info = await redis.info('server');
  } catch {
    return false;
  }
  if (/^(valkey_version|dragonfly_version):|^server:(Valkey|Dragonfly)/im.test(info)) return false;
  const version = /^redis_version:(.*)$/m.exec(info)?.[1]?.trim();
  return version !== undefined && atLeast(version, MINIMUM);
}
