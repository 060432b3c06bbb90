// A job's state and its stored fields in one script: BullMQ's own getStateV2 (the one `getJobState`
// runs), then the job's hash, read at one instant, so a final state never comes with the data of before
// it ended. One round trip where BullMQ's `getJobState` then `Job.fromId` take two.
// BullMQ's script source (6.x keeps it here; pinned by package.json).
import { getStateV2 } from 'bullmq/dist/esm/scripts/getStateV2-8.js';
import type { Redis } from 'ioredis';
import { hashFields } from '../redis/hash-fields.ts';
import { LuaScript, luaFunction } from '../redis/lua-script.ts';
import type { StageQueue } from './stage-queues.ts';

const STATE_KEYS = [
  'completed',
  'failed',
  'delayed',
  'active',
  'wait',
  'paused',
  'waiting-children',
  'prioritized',
];

const READ_JOB = new LuaScript(
  `
${luaFunction('state', getStateV2.content)}
local s = state({KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]}, {ARGV[1]})
return {s, redis.call('HGETALL', KEYS[9])}`,
  STATE_KEYS.length + 1,
);

/** A job's BullMQ state and its hash's fields, or undefined when the queue holds no such job. */
export async function readJob(
  redis: Redis,
  queue: StageQueue,
  id: string,
): Promise<{ state: string; fields: Record<string, string> } | undefined> {
  const [state, flat] = (await READ_JOB.run(
    redis,
    [...STATE_KEYS.map((key) => queue.toKey(key)), queue.toKey(id)],
    [id],
  )) as [string, string[]];
  return flat.length === 0 ? undefined : { state, fields: hashFields(flat) };
}
