// Queues one stage job in one Redis script: the job id is reserved for its chat event in the job
// index, the image's lock is taken, the job goes on the recent list (and what falls off it leaves the
// index), and the job is added to its BullMQ queue by BullMQ's own `addStandardJob` script, run in the
// same script after those steps (BullMQ builds its arguments itself, through `Job.addJob` with a
// client that hands them to us). One command and one round trip instead of eight in four; the same
// guarantees: nothing is added unless the id is this event's and the lock is this job's.
import { Job } from 'bullmq';
// BullMQ's script source, the one its own `Queue.add` runs (6.x keeps it here; pinned by package.json).
import { addStandardJob } from 'bullmq/dist/esm/scripts/addStandardJob-9.js';
import type { Redis } from 'ioredis';
import type { JobData } from '../types.ts';
import type { StageQueue } from './stage-queues.ts';

/** Why the script added nothing. */
export type QueueRefusal =
  /** Another chat event holds this job id: take a longer one. */
  | { refused: 'id-taken' }
  /** Another job holds the image's lock. */
  | { refused: 'busy'; holder: string };

export interface QueueJobKeys {
  jobIndex: string;
  lock: string;
  recentJobs: string;
}

export interface QueueJobOptions {
  /** `<queue name> <event key>`: what the job index holds for this id. */
  claim: string;
  lockMs: number;
  keepRecent: number;
  /** A lock holder known to be finished or gone: taken over if it still holds the lock. */
  takeOverFrom?: string | undefined;
}

const BULL_KEYS = addStandardJob.keys;

/** Our steps first (keys after BullMQ's nine, arguments after its three), then BullMQ's script unchanged. */
const SCRIPT = `
do
  local index, lock, recent = KEYS[${BULL_KEYS + 1}], KEYS[${BULL_KEYS + 2}], KEYS[${BULL_KEYS + 3}]
  local id, claim = ARGV[4], ARGV[5]
  local held = redis.call('HGET', index, id)
  if held and held ~= claim then return {'id-taken'} end
  local holder = redis.call('GET', lock)
  if holder and holder ~= id and holder ~= ARGV[9] then return {'busy', holder} end
  if not held then redis.call('HSET', index, id, claim) end
  redis.call('SET', lock, id, 'PX', ARGV[6])
  if redis.call('ZADD', recent, 'NX', ARGV[7], id) == 1 then
    local keep = tonumber(ARGV[8])
    local gone = redis.call('ZRANGE', recent, 0, -keep - 1)
    if #gone > 0 then
      redis.call('ZREMRANGEBYRANK', recent, 0, -keep - 1)
      redis.call('HDEL', index, unpack(gone))
    end
  end
end
${addStandardJob.content}`;

type Runner = Redis & {
  vmopsQueueJob(...args: (string | Buffer | number)[]): Promise<string | number | string[]>;
};

function runner(redis: Redis): Runner {
  const r = redis as Runner;
  if (typeof r.vmopsQueueJob !== 'function') {
    r.defineCommand('vmopsQueueJob', { numberOfKeys: BULL_KEYS + 3, lua: SCRIPT });
  }
  return r;
}

/** BullMQ's keys and arguments for adding `data` to `queue` as `Queue.add` would (default job options included). */
async function bullArgs(queue: StageQueue, data: JobData): Promise<(string | Buffer | number)[]> {
  const job = new Job(queue, data.stage, data, { ...queue.defaultJobOptions, jobId: data.jobId }, data.jobId);
  let captured: { name: string; args: (string | Buffer | number)[] } | undefined;
  let answer: (value: unknown) => void = () => undefined;
  const client = {
    runCommand(name: string, args: (string | Buffer | number)[]) {
      captured = { name, args };
      return new Promise((resolve) => {
        answer = resolve;
      });
    },
  };
  // Job.addJob runs synchronously up to the command; its promise is ours to settle (with the id).
  const adding = job.addJob(client as never);
  answer(data.jobId);
  await adding;
  if (!captured?.name.startsWith('addStandardJob') || captured.args.length !== BULL_KEYS + 3) {
    throw new Error(`BullMQ would add this job with ${captured?.name ?? 'nothing'}, not addStandardJob`);
  }
  return captured.args;
}

/** Reserves the id, takes the lock, lists and queues the job, in one step; or says why it did not. */
export async function queueJob(
  redis: Redis,
  queue: StageQueue,
  data: JobData,
  keys: QueueJobKeys,
  options: QueueJobOptions,
): Promise<QueueRefusal | undefined> {
  const bull = await bullArgs(queue, data);
  const result = await runner(redis).vmopsQueueJob(
    ...bull.slice(0, BULL_KEYS),
    keys.jobIndex,
    keys.lock,
    keys.recentJobs,
    ...bull.slice(BULL_KEYS),
    data.jobId,
    options.claim,
    options.lockMs,
    data.createdAt,
    options.keepRecent,
    options.takeOverFrom ?? '',
  );
  if (Array.isArray(result)) {
    return result[0] === 'busy' ? { refused: 'busy', holder: result[1] ?? '' } : { refused: 'id-taken' };
  }
  if (typeof result === 'number' && result < 0)
    throw new Error(`BullMQ refused job ${data.jobId} (${result})`);
  return undefined;
}
