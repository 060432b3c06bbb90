// Benchmark: memory per queued job, in Redis and in the bot. 10,000 `build` commands go through the
// whole bot pipeline (each queues one job, posts its status message and leaves it tracked by the
// notifier; no worker runs, so they all stay queued), then Redis `INFO memory` used_memory and the
// bot process's heap (after a full GC) are compared with before. The baseline, in the same run on the
// same private redis-server, is a raw BullMQ `add` of as many jobs carrying the same data (a copy of a
// job vmops queued, so the payload has the same size) with the same job options (attempts and the
// retention of finished jobs, jobs.keepFinished and jobs.keepFinishedFor). Prints bytes per job for
// both, and the ratio of Redis bytes per job last. Must hold: at most 1.5.
//   npm run bench   (or: node test/bench/memory.bench.ts [jobs])
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../../config/schema.ts';
import { queueName, stageJobOptions } from '../../src/queue/stage-queues.ts';
import { connectRedis } from '../../src/redis/connect.ts';
import type { JobData } from '../../src/types.ts';
import { benchCore, fromAlice, privateRedis, silentChat, versionFor } from './bench-kit.ts';

const count = Number(process.argv[2] ?? 10_000);
const IN_FLIGHT = 4; // commands handled at once (several chat rooms talking), to keep the run short
const server = await privateRedis();

// A full collection before each heap reading: --expose-gc when given, otherwise turned on here.
if (typeof globalThis.gc !== 'function') setFlagsFromString('--expose-gc');
const gc = (globalThis.gc ?? runInNewContext('gc')) as () => void;

async function heapUsed(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

async function redisUsed(redis: Redis): Promise<{ bytes: number; keys: number }> {
  const info = await redis.info('memory');
  const bytes = Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
  return { bytes, keys: await redis.dbsize() };
}

interface Measured {
  redisBytes: number;
  redisKeys: number;
  heapBytes: number;
  seconds: number;
}

async function vmopsPipeline(redis: Redis): Promise<{ measured: Measured; sample: JobData; config: Config }> {
  const { core, config } = await benchCore(server, [silentChat]); // nothing runs the jobs: they stay queued
  const message = (i: number) =>
    fromAlice(`build cernvm ${versionFor(i)} kvm`, { eventId: `bench-${i}`, room: `room-${i % 100}` });
  const handle = async (i: number) => {
    const handled = await core.handle(message(i));
    if (handled.jobs.length !== 1) throw new Error(`command ${i} queued ${handled.jobs.length} jobs`);
    return handled.jobs[0] as string;
  };
  // A few commands first, so lazily made keys, scripts and code paths are not counted per job.
  for (let i = 0; i < 20; i++) await handle(1_000_000 + i);
  const redis0 = await redisUsed(redis);
  const heap0 = await heapUsed();
  const start = performance.now();
  let next = 0;
  let sampleId = '';
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) {
        const id = await handle(next++);
        sampleId ||= id;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const heap1 = await heapUsed();
  const redis1 = await redisUsed(redis);
  const queue = new Queue<JobData>(queueName('build', 'kvm'), { connection: redis, prefix: 'bench' });
  const sample = (await queue.getJob(sampleId))?.data;
  if (!sample) throw new Error(`job ${sampleId} is not in Redis`);
  if ((await queue.getWaitingCount()) < count) throw new Error('fewer jobs are waiting than were queued');
  await queue.close();
  await core.close();
  return {
    measured: {
      redisBytes: redis1.bytes - redis0.bytes,
      redisKeys: redis1.keys - redis0.keys,
      heapBytes: heap1 - heap0,
      seconds,
    },
    sample,
    config,
  };
}

async function rawBullmq(redis: Redis, sample: JobData, config: Config): Promise<Measured> {
  const queue = new Queue<JobData>('build', {
    connection: redis,
    prefix: 'raw',
    defaultJobOptions: stageJobOptions(config.jobs), // the same retention of finished jobs
  });
  await queue.waitUntilReady();
  // Ids as long as vmops's eight characters, so keys cost the same.
  const id = (i: number) => `r${String(i).padStart(sample.jobId.length - 1, '0')}`;
  const data = (i: number): JobData => ({ ...sample, jobId: id(i) });
  for (let i = 0; i < 20; i++) await queue.add('build', data(1_000_000 + i), { jobId: id(1_000_000 + i) });
  const redis0 = await redisUsed(redis);
  const heap0 = await heapUsed();
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) {
        const i = next++;
        await queue.add('build', data(i), { jobId: id(i) });
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const heap1 = await heapUsed();
  const redis1 = await redisUsed(redis);
  await queue.close();
  return {
    redisBytes: redis1.bytes - redis0.bytes,
    redisKeys: redis1.keys - redis0.keys,
    heapBytes: heap1 - heap0,
    seconds,
  };
}

function describe(name: string, m: Measured): string {
  return (
    `  ${name.padEnd(24)} Redis ${String(Math.round(m.redisBytes / count)).padStart(6)} B/job ` +
    `(${(m.redisKeys / count).toFixed(2)} keys/job)   heap ${String(Math.round(m.heapBytes / count)).padStart(6)} B/job` +
    `   (${(count / m.seconds).toFixed(0)} jobs/s)`
  );
}

const redis = connectRedis(server.url);
try {
  const { measured: ours, sample, config } = await vmopsPipeline(redis);
  const raw = await rawBullmq(redis, sample, config);
  console.log(
    `memory: ${count} queued jobs, no worker, on a private redis-server; data ${JSON.stringify(sample).length} B a job`,
  );
  console.log(describe('raw BullMQ add:', raw));
  console.log(`  (both with the same job options: ${JSON.stringify(stageJobOptions(config.jobs))})`);
  console.log(describe('vmops build commands:', ours));
  console.log(
    `memory ratio (vmops / raw BullMQ add, Redis used_memory per job): ${(ours.redisBytes / raw.redisBytes).toFixed(2)}`,
  );
} finally {
  redis.disconnect();
  await server.stop();
}
