// Benchmark: progress fan-out. 50 running jobs report progress 1,000 times a second in all (20 a second
// each, open loop) while the notifier keeps their status messages up to date on two fake chat networks
// that enforce a rate limit the way a real one does: a send or edit of a message sooner than the
// network's minimum interval after the previous one is refused with a 429-like error carrying
// retryAfterMs (counted; the notifier must cause none). The jobs are real BullMQ jobs on the bot's stage
// queue, queued by `build` commands and run by a plain BullMQ worker in this process whose "step" only
// calls job.updateProgress. At the end every job's final state must reach its room (whenSettled), and
// the staleness of each final message is measured: from the job's finishedOn in Redis to the adapter
// accepting the edit that shows the final state. The notifier may hold that edit back for at most one
// interval (the pacing), so the ratio printed last is the worst staleness over that job's network
// interval: about 1 or below is the bound, well above 1 is lag.
//   npm run bench   (or: node test/bench/progress-fanout.bench.ts [progress events])
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { queueName } from '../../src/queue/stage-queues.ts';
import { bullConnection, connectRedis } from '../../src/redis/connect.ts';
import type { JobData, JobProgress, JobResult } from '../../src/types.ts';
import { benchCore, fromAlice, ms, PacedChat, percentile, privateRedis, sleepUntil } from './bench-kit.ts';

const JOBS = 50;
const EVENTS_PER_SECOND = 1000;
const events = Number(process.argv[2] ?? 10_000); // progress events in all: 10 s at 1,000 a second
const perJob = Math.max(1, Math.round(events / JOBS));
const ROOMS_PER_NETWORK = 5;
const server = await privateRedis();

// Each refuses (429) a send or edit of a message sooner than its interval after the message's last.
const chats = [
  new PacedChat({ network: 'paced-1s', minEditIntervalMs: 1000 }),
  new PacedChat({ network: 'paced-250ms', minEditIntervalMs: 250 }),
];

try {
  // The bench's own worker runs the jobs, without a heartbeat.
  const { config, core } = await benchCore(server, chats);

  // The worker first, idle until all 50 jobs run: then every job reports at 20/s, offset by 1 ms each.
  const redis = connectRedis(server.url);
  const progressAt: number[] = [];
  let running = 0;
  let go: (t0: number) => void = () => undefined;
  const started = new Promise<number>((resolve) => {
    go = resolve;
  });
  const connection = bullConnection(server.url);
  const worker = new Worker<JobData, JobResult>(
    queueName('build', 'kvm'),
    async (job) => {
      const slot = running;
      running += 1;
      if (running === JOBS) go(performance.now() + 100);
      const t0 = await started;
      const startedAt = Date.now();
      for (let k = 1; k <= perJob; k++) {
        await sleepUntil(
          t0 + slot * (1000 / EVENTS_PER_SECOND) + (k - 1) * ((1000 * JOBS) / EVENTS_PER_SECOND),
        );
        const progress: JobProgress = {
          step: 1,
          steps: 1,
          stepName: 'chatty',
          percent: Math.floor((100 * k) / perJob),
          message: `line ${k} of ${perJob}`,
          startedAt,
          worker: 'bench',
        };
        await job.updateProgress(progress);
        progressAt.push(performance.now());
      }
      return { durationMs: Date.now() - startedAt, steps: [], artifacts: [], reports: [] };
    },
    { connection: connection.connection, prefix: config.redis.prefix, concurrency: JOBS },
  );
  worker.on('error', () => undefined);

  const jobIds: string[] = [];
  for (let i = 0; i < JOBS; i++) {
    const chat = chats[i % chats.length] as PacedChat;
    const handled = await core.handle(
      fromAlice(`build cernvm 3.0.${i} kvm`, {
        eventId: `fanout-${i}`,
        network: chat.network,
        room: `room-${i % ROOMS_PER_NETWORK}`,
      }),
    );
    const [id] = handled.jobs;
    if (handled.jobs.length !== 1 || id === undefined) throw new Error(`command ${i} queued no job`);
    jobIds.push(id);
  }
  const t0 = await started;
  const settled = await Promise.race([
    core.notifier.whenSettled(jobIds).then(() => true),
    sleep(30_000 + (perJob * 1000 * JOBS) / EVENTS_PER_SECOND, false, { ref: false }),
  ]);
  const settledIn = (performance.now() - t0) / 1000;

  // Staleness: the job's finishedOn in Redis → the adapter accepting the edit that shows the final state.
  const queue = new Queue<JobData, JobResult>(queueName('build', 'kvm'), {
    connection: redis,
    prefix: config.redis.prefix,
  });
  const staleness = new Map<string, number[]>(chats.map((c) => [c.network, []]));
  const normalised: number[] = [];
  let delivered = 0;
  for (const chat of chats) {
    for (const message of chat.messages.values()) {
      if (message.jobId === undefined) continue;
      const job = await queue.getJob(message.jobId);
      const state = message.lastReply.status?.state;
      if (state === 'succeeded' && message.finalAt !== undefined) delivered += 1;
      if (job?.finishedOn === undefined || message.finalAt === undefined) continue;
      const stale = message.finalAt - job.finishedOn;
      staleness.get(chat.network)?.push(stale);
      normalised.push(stale / chat.limits.minEditIntervalMs);
    }
  }
  await worker.close();
  await queue.close();
  connection.close();
  redis.disconnect();
  await core.close();

  const sent = progressAt.length;
  const span = (Math.max(...progressAt) - t0) / 1000;
  const edits = chats.reduce((sum, c) => sum + c.edits, 0);
  const refused = chats.reduce((sum, c) => sum + c.refused, 0);
  console.log(
    `progress fan-out: ${JOBS} jobs, ${sent} progress events in ${span.toFixed(1)} s ` +
      `(${(sent / span).toFixed(0)}/s, aimed at ${EVENTS_PER_SECOND}/s), ${chats.length} rate-limited networks ` +
      `of ${ROOMS_PER_NETWORK} rooms, on a private redis-server`,
  );
  for (const chat of chats) {
    const values = staleness.get(chat.network) ?? [];
    console.log(
      `  ${chat.network.padEnd(12)} interval ${String(chat.limits.minEditIntervalMs).padStart(5)} ms: ` +
        `${String(chat.edits).padStart(5)} edits, ${chat.refused} refused (429` +
        `${chat.refused > 0 ? `, up to ${chat.worstEarly} ms too soon` : ''}); ` +
        `final-state staleness p50 ${ms(percentile(values, 50), 6)}  max ${ms(Math.max(...values), 6)}; ` +
        `busiest room ${chat.busiestRoomSecond()} edits in 1 s`,
    );
  }
  console.log(`  429s (expected 0):                   ${refused}`);
  console.log(
    `  final states delivered:              ${delivered} of ${JOBS}` +
      (settled ? ` (whenSettled after ${settledIn.toFixed(1)} s)` : ' (whenSettled TIMED OUT)'),
  );
  console.log(`  coalescing (edits / progress events): ${(edits / sent).toFixed(3)}  (${edits} / ${sent})`);
  const worst = Math.max(...normalised);
  console.log(
    `fan-out ratio (worst final-state staleness / its network's min edit interval): ${worst.toFixed(2)}`,
  );
  if (delivered !== JOBS || !settled) process.exitCode = 1; // a lost final state is a failure, not a number
} finally {
  await server.stop();
}
