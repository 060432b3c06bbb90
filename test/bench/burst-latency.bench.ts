// Benchmark: a burst of 100 commands into one rate-limited room (issue 18). The room's network refuses
// (429, with the wait) any send or edit that breaks its limit, a sustained rate with a burst shared by
// every message in the room, as Slack counts chat.postMessage per channel; the bot must cause none.
// The commands arrive at once and are taken in as main.ts takes them (adapter → core.take → durable
// intake → pipeline); a plain BullMQ worker in this process runs each job for about a second with a
// few progress reports. Measured: command handed over → its job queued (BullMQ's timestamp), against
// raw BullMQ `add` of as many jobs at once on the same redis-server in the same run; and job finished
// (finishedOn) → the room showing its final state. Taking commands in must not wait on the room's rate
// limit; the final states wait for it, by design. Prints p50/p95/max of both, and last the ratio of the
// p95 of job finished → final state visible to the room's minimum edit interval.
//   npm run bench   (or: node test/bench/burst-latency.bench.ts [commands])
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { queueName } from '../../src/queue/stage-queues.ts';
import { bullConnection, connectRedis } from '../../src/redis/connect.ts';
import type { JobData, JobProgress, JobResult } from '../../src/types.ts';
import { benchCore, fromAlice, ms, PacedChat, percentile, privateRedis } from './bench-kit.ts';

const count = Number(process.argv[2] ?? 100);
const ROOM_RATE = { perSecond: 10, burst: 5 }; // every send and edit in the room counts
const MIN_EDIT_INTERVAL_MS = 1000;
const JOB_MS = 1000;
const server = await privateRedis();

/** Raw BullMQ: `count` adds at once; each job's timestamp after the moment they were asked for. */
async function rawBullmq(): Promise<number[]> {
  const connection = connectRedis(server.url);
  const queue = new Queue('build', { connection, prefix: 'raw' });
  await queue.waitUntilReady();
  const t0 = Date.now();
  const jobs = await Promise.all(
    Array.from({ length: count }, (_, i) => queue.add('build', { i }, { jobId: `raw-${i}` })),
  );
  await queue.close();
  connection.disconnect();
  return jobs.map((job) => job.timestamp - t0);
}

const room = new PacedChat({
  network: 'limited',
  minEditIntervalMs: MIN_EDIT_INTERVAL_MS,
  roomRate: ROOM_RATE,
  // The platform counts requests per room; one message's interval is the bot's own pacing.
  messageInterval: false,
});

try {
  const raw = await rawBullmq();
  const handled = new Map<string, string[]>();
  let allTaken: () => void = () => undefined;
  const taken = new Promise<void>((resolve) => {
    allTaken = resolve;
  });
  const { config, core } = await benchCore(server, [room], {
    viaIntake: true,
    onHandled: (message, result) => {
      handled.set(message.eventId, result.jobs);
      if (handled.size === count) allTaken();
    },
  });
  const connection = bullConnection(server.url);
  const worker = new Worker<JobData, JobResult>(
    queueName('build', 'kvm'),
    async (job) => {
      const startedAt = Date.now();
      for (let k = 1; k <= 4; k++) {
        await sleep(JOB_MS / 4);
        const progress: JobProgress = {
          step: 1,
          steps: 1,
          stepName: 'work',
          percent: k * 25,
          startedAt,
          worker: 'bench',
        };
        await job.updateProgress(progress);
      }
      return { durationMs: Date.now() - startedAt, steps: [], artifacts: [], reports: [] };
    },
    { connection: connection.connection, prefix: config.redis.prefix, concurrency: count },
  );
  worker.on('error', () => undefined);

  // The burst: every command is handed over at once, as a network delivers a burst into one room.
  const handedAt = new Map<string, number>();
  const t0 = Date.now();
  for (let i = 0; i < count; i++) {
    const message = fromAlice(`build cernvm 4.0.${i} kvm`, {
      eventId: `burst-${i}`,
      network: room.network,
      room: 'ops',
    });
    handedAt.set(message.eventId, Date.now());
    void room.deliver(message);
  }
  await taken;
  const jobOf = new Map<string, string>();
  for (const [eventId, jobs] of handled) {
    const [id] = jobs;
    if (jobs.length !== 1 || id === undefined) throw new Error(`command ${eventId} queued no job`);
    jobOf.set(id, eventId);
  }
  const jobIds = [...jobOf.keys()];
  const settled = await Promise.race([
    core.notifier.whenSettled(jobIds).then(() => true),
    sleep(60_000 + (count * 3 * 1000) / ROOM_RATE.perSecond, false, { ref: false }),
  ]);
  const seconds = (Date.now() - t0) / 1000;

  const redis = connectRedis(server.url);
  const queue = new Queue<JobData, JobResult>(queueName('build', 'kvm'), {
    connection: redis,
    prefix: config.redis.prefix,
  });
  const finalAt = room.finalAtByJob();
  const queued: number[] = [];
  const visible: number[] = [];
  for (const jobId of jobIds) {
    const job = await queue.getJob(jobId);
    if (!job) continue;
    queued.push(job.timestamp - (handedAt.get(jobOf.get(jobId) ?? '') ?? t0));
    const final = finalAt.get(jobId);
    if (job.finishedOn !== undefined && final !== undefined) visible.push(final - job.finishedOn);
  }
  await worker.close();
  await queue.close();
  connection.close();
  redis.disconnect();
  await core.intake.stop();
  await core.close();

  const line = (name: string, values: number[]) =>
    `  ${name.padEnd(36)} p50 ${ms(percentile(values, 50))}   p95 ${ms(percentile(values, 95))}   max ${ms(Math.max(...values))}`;
  console.log(
    `burst latency: ${count} commands at once into one room limited to ${ROOM_RATE.perSecond}/s ` +
      `(burst ${ROOM_RATE.burst}) for every send and edit, min edit interval ${MIN_EDIT_INTERVAL_MS} ms, ` +
      `jobs of ${JOB_MS} ms, on a private redis-server (${seconds.toFixed(1)} s)`,
  );
  console.log(line('raw BullMQ add (all at once):', raw));
  console.log(line('vmops command → job queued:', queued));
  console.log(line('job finished → final state visible:', visible));
  console.log(`  requests to the room: ${room.requests}; 429s (expected 0): ${room.refused}`);
  console.log(
    `  final states delivered: ${visible.length} of ${count}${settled ? '' : ' (whenSettled TIMED OUT)'}`,
  );
  console.log(
    `  intake ratio (vmops p95 command → job queued / raw BullMQ add p95): ` +
      `${(percentile(queued, 95) / Math.max(1, percentile(raw, 95))).toFixed(2)}`,
  );
  console.log(
    `burst ratio (p95 job finished → final state visible / the room's min edit interval): ` +
      `${(percentile(visible, 95) / MIN_EDIT_INTERVAL_MS).toFixed(2)}`,
  );
  // A lost final state, or a 429 the bot caused, is a failure, not a number.
  if (visible.length !== count || !settled || room.refused > 0) process.exitCode = 1;
} finally {
  await server.stop();
}
