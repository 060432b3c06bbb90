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
import { composedScript, LuaScript, luaFunction } from '../redis/lua-script.ts';
import type { ScriptCall } from '../redis/script-batch.ts';
import type { JobData } from '../types.ts';
import { type ImageLock, LOCK_HOLDER } from './image-lock.ts';
import type { StageQueue } from './stage-queues.ts';

/** Why the script added nothing. */
export type QueueRefusal =
  /** Another chat event holds this job id: take a longer one. */
  | { refused: 'id-taken' }
  /** Another job holds the image's lock. */
  | { refused: 'busy'; holder: string }
  /** A guard step refused (see QueueStep): its result. */
  | { refused: 'step'; result: unknown };

/** What the script did: refused, or queued the job (with the steps' results, when it had steps). */
export type QueueOutcome = QueueRefusal | { refused?: undefined; results: unknown[] };

export interface QueueJobKeys {
  jobIndex: string;
  lock: ImageLock;
  recentJobs: string;
}

export interface QueueJobOptions {
  /** `<queue name> <event key>`: what the job index holds for this id. */
  claim: string;
  keepRecent: number;
  /** A lock holder known to be finished or gone: taken over if it still holds the lock. */
  takeOverFrom?: string | undefined;
}

const BULL_KEYS = addStandardJob.keys;
/** BullMQ's keys, then the job index, the hash of image locks, the recent list, the lock's older key. */
const OWN_KEYS = BULL_KEYS + 4;

/** Refusals, before anything is written: the id is another event's, or another job holds the image. */
const CHECKS = `
  local index, lock, recent = KEYS[${BULL_KEYS + 1}], KEYS[${BULL_KEYS + 2}], KEYS[${BULL_KEYS + 3}]
  local id, claim = ARGV[4], ARGV[5]
  local held = redis.call('HGET', index, id)
  if held and held ~= claim then return {'id-taken'} end
  local holder = ${LOCK_HOLDER('lock', 'ARGV[6]', `KEYS[${BULL_KEYS + 4}]`)}
  if holder and holder ~= id and holder ~= ARGV[9] then return {'busy', holder} end`;

/** The id reserved for the event, the lock, the recent list (what falls off it leaves the index). */
const WRITES = `
  if not held then redis.call('HSET', index, id, claim) end
  redis.call('HSET', lock, ARGV[6], id)
  if redis.call('ZADD', recent, 'NX', ARGV[7], id) == 1 then
    local keep = tonumber(ARGV[8])
    local gone = redis.call('ZRANGE', recent, 0, -keep - 1)
    if #gone > 0 then
      redis.call('ZREMRANGEBYRANK', recent, 0, -keep - 1)
      redis.call('HDEL', index, unpack(gone))
    end
  end`;

/**
 * Another module's step, run in the same script once the checks passed and before anything is written
 * (its own Lua, which sees its own KEYS and ARGV, returning a table or a number). A `guard` step whose
 * result's first value is not 1 stops the script there, with nothing written by the steps after it or
 * by the queueing: it is given back as the refusal `{ refused: 'step', result }`.
 */
export interface QueueStep {
  lua: string;
  keys: readonly string[];
  args: readonly (string | number)[];
  guard?: boolean;
}

/** The queueing with steps: BullMQ's script as a function, the steps' results returned after its job id. */
function scriptWithSteps(steps: readonly QueueStep[]): string {
  let key = OWN_KEYS;
  let arg = 9;
  const calls = steps.map((step, i) => {
    const keys = step.keys.map((_, k) => `KEYS[${key + k + 1}]`).join(', ');
    const args = step.args.map((_, a) => `ARGV[${arg + a + 1}]`).join(', ');
    key += step.keys.length;
    arg += step.args.length;
    const call = `  results[${i + 1}] = step${i + 1}({${keys}}, {${args}})`;
    return step.guard
      ? `${call}\n  if type(results[${i + 1}]) ~= 'table' or results[${i + 1}][1] ~= 1 then return {'step', results[${i + 1}]} end`
      : call;
  });
  const bullKeys = Array.from({ length: BULL_KEYS }, (_, k) => `KEYS[${k + 1}]`).join(', ');
  return `
${steps.map((step, i) => luaFunction(`step${i + 1}`, step.lua)).join('\n')}
${luaFunction('bull', addStandardJob.content)}
local results = {}
${CHECKS}
${calls.join('\n')}
${WRITES}
local added = bull({${bullKeys}}, {ARGV[1], ARGV[2], ARGV[3]})
return {'queued', added, unpack(results)}`;
}

/** The queueing with these steps (one script per steps' Lua and sizes). */
function scriptFor(steps: readonly QueueStep[]): LuaScript {
  const name = steps
    .map((s) => `${s.keys.length} ${s.args.length} ${s.guard ? 1 : 0}\n${s.lua}`)
    .join('\n--\n');
  return composedScript(
    `queue job\n${name}`,
    () => new LuaScript(scriptWithSteps(steps), OWN_KEYS + steps.reduce((n, s) => n + s.keys.length, 0)),
  );
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

/** A job ready to be queued: the script that queues it with some steps, and how to read its answer. */
export interface PreparedQueueing {
  /** The job to be queued. */
  readonly data: JobData;
  /** Queues it, with no other step. */
  queue(redis: Redis): Promise<QueueOutcome>;
  withSteps(steps: readonly QueueStep[]): ScriptCall & { outcome(result: unknown): QueueOutcome };
}

/** Prepares the queueing of `data` (BullMQ's arguments are built now, the script is run later). */
export async function prepareQueueJob(
  queue: StageQueue,
  data: JobData,
  keys: QueueJobKeys,
  options: QueueJobOptions,
): Promise<PreparedQueueing> {
  const bull = await bullArgs(queue, data);
  const bullKeys = bull.slice(0, BULL_KEYS) as string[];
  const ourKeys = [keys.jobIndex, keys.lock.hash, keys.recentJobs, keys.lock.legacyKey];
  const args = [
    ...bull.slice(BULL_KEYS),
    data.jobId,
    options.claim,
    keys.lock.field,
    data.createdAt,
    options.keepRecent,
    options.takeOverFrom ?? '',
  ];
  const prepared: PreparedQueueing = {
    data,
    async queue(redis) {
      const call = prepared.withSteps([]);
      return call.outcome(await call.script.run(redis, call.keys, call.args));
    },
    withSteps: (steps) => ({
      script: scriptFor(steps),
      keys: [...bullKeys, ...ourKeys, ...steps.flatMap((s) => s.keys)],
      args: [...args, ...steps.flatMap((s) => s.args)],
      outcome(answer) {
        const result = answer as unknown[];
        if (result[0] === 'step') return { refused: 'step', result: result[1] };
        if (result[0] === 'queued') return outcomeOf(result[1], data.jobId, result.slice(2));
        return outcomeOf(result, data.jobId, []);
      },
    }),
  };
  return prepared;
}

function outcomeOf(result: unknown, jobId: string, results: unknown[]): QueueOutcome {
  if (Array.isArray(result)) {
    return result[0] === 'busy'
      ? { refused: 'busy', holder: String(result[1] ?? '') }
      : { refused: 'id-taken' };
  }
  if (typeof result === 'number' && result < 0) throw new Error(`BullMQ refused job ${jobId} (${result})`);
  return { results };
}
