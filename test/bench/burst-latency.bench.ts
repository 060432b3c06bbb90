// Benchmark: a burst of 100 commands into one rate-limited room. The room's network refuses (429, with
// the wait) any send or edit that breaks its limit, a sustained rate with a burst shared by every
// message in the room, as Slack counts chat.postMessage per channel; the bot must cause none. The
// commands arrive at once and are handed to the bot one after another, as an adapter does for one
// room; a plain BullMQ worker in this process runs each job for about a second with a few progress
// reports. Measured: command delivered → its job queued (BullMQ's timestamp), and job finished
// (finishedOn) → the room showing its final state. Taking commands in must not wait on the room's
// rate limit; the final states wait for it, by design. Prints p50/p95/max of both, and last the ratio
// of the p95 of job finished → final state visible to the room's minimum edit interval.
//   npm run bench   (or: node test/bench/burst-latency.bench.ts [commands])
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { FINAL_STATES } from '../../src/jobs/job-view.ts';
import { queueName } from '../../src/jobs/stage-queues.ts';
import { bullConnection, connectRedis } from '../../src/redis/connect.ts';
import { SendFailure } from '../../src/send-failure.ts';
import type {
  AdapterLimits,
  ChatAdapter,
  ChatTarget,
  IncomingMessage,
  JobData,
  JobProgress,
  JobResult,
  MessageRef,
  Reply,
} from '../../src/types.ts';
import { benchCore, fromAlice, ms, percentile, privateRedis } from './bench-kit.ts';

const count = Number(process.argv[2] ?? 100);
const ROOM_RATE = { perSecond: 10, burst: 5 }; // every send and edit in the room counts
const MIN_EDIT_INTERVAL_MS = 1000;
const JOB_MS = 1000;
const ADAPTER_LATENCY_MS = 5;
const server = await privateRedis();

/** One room on a network that enforces a GCRA on every request into it, as a platform does. */
class LimitedRoom implements ChatAdapter {
  readonly network = 'limited';
  readonly limits: AdapterLimits = {
    canEdit: true,
    minEditIntervalMs: MIN_EDIT_INTERVAL_MS,
    maxMessageLength: 4000,
    sendBudget: { per: 'room', rate: ROOM_RATE },
    editBudget: { per: 'room', rate: ROOM_RATE },
  };
  /** Final state first shown, by job id (Date.now()). */
  readonly finalAt = new Map<string, number>();
  readonly #jobOf = new Map<string, string>();
  refused = 0;
  requests = 0;
  #tat = 0;
  #next = 0;
  #onMessage: (message: IncomingMessage) => Promise<void> = async () => undefined;

  async start(onMessage: (message: IncomingMessage) => Promise<void>): Promise<void> {
    this.#onMessage = onMessage;
  }
  async stop(): Promise<void> {}
  deliver(message: IncomingMessage): Promise<void> {
    return this.#onMessage(message);
  }
  directTarget(account: string): ChatTarget {
    return { network: this.network, room: `dm:${account}`, isDirect: true };
  }

  /** The platform's limiter: 0 when the request conforms (and is counted), else the wait (ms). */
  #take(): number {
    const now = Date.now();
    const interval = 1000 / ROOM_RATE.perSecond;
    const earliest = this.#tat - (ROOM_RATE.burst - 1) * interval;
    if (now < earliest) return Math.ceil(earliest - now);
    this.#tat = Math.max(this.#tat, now) + interval;
    return 0;
  }

  #request(reply: Reply, jobId: string | undefined): void {
    this.requests += 1;
    const wait = this.#take();
    if (wait > 0) {
      this.refused += 1;
      throw new SendFailure('429', { retryable: true, retryAfterMs: wait, platformCode: 'ratelimited' });
    }
    const state = reply.status?.state;
    if (jobId && state && FINAL_STATES.has(state) && !this.finalAt.has(jobId))
      this.finalAt.set(jobId, Date.now());
  }

  async send(target: ChatTarget, reply: Reply): Promise<MessageRef> {
    this.#request(reply, reply.status?.jobId);
    await sleep(ADAPTER_LATENCY_MS);
    const ref = { network: this.network, room: target.room, id: `m-${++this.#next}` };
    if (reply.status) this.#jobOf.set(ref.id, reply.status.jobId);
    return ref;
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    this.#request(reply, this.#jobOf.get(ref.id));
    await sleep(ADAPTER_LATENCY_MS);
  }
}

const room = new LimitedRoom();

try {
  const { config, core } = await benchCore(server, [room]);
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

  // The burst: every command arrives at t0, and is handed over one after another, as for one room.
  const deliveredAt = new Map<string, number>();
  const jobIds: string[] = [];
  const t0 = Date.now();
  for (let i = 0; i < count; i++) {
    const handled = await core.handle(
      fromAlice(`build cernvm 4.0.${i} kvm`, { eventId: `burst-${i}`, network: room.network, room: 'ops' }),
    );
    const [id] = handled.jobs;
    if (handled.jobs.length !== 1 || id === undefined) throw new Error(`command ${i} queued no job`);
    jobIds.push(id);
    deliveredAt.set(id, t0);
  }
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
  const queued: number[] = [];
  const visible: number[] = [];
  for (const jobId of jobIds) {
    const job = await queue.getJob(jobId);
    if (!job) continue;
    queued.push(job.timestamp - (deliveredAt.get(jobId) ?? t0));
    const final = room.finalAt.get(jobId);
    if (job.finishedOn !== undefined && final !== undefined) visible.push(final - job.finishedOn);
  }
  await worker.close();
  await queue.close();
  connection.close();
  redis.disconnect();
  await core.close();

  const line = (name: string, values: number[]) =>
    `  ${name.padEnd(34)} p50 ${ms(percentile(values, 50))}   p95 ${ms(percentile(values, 95))}   max ${ms(Math.max(...values))}`;
  console.log(
    `burst latency: ${count} commands at once into one room limited to ${ROOM_RATE.perSecond}/s ` +
      `(burst ${ROOM_RATE.burst}) for every send and edit, min edit interval ${MIN_EDIT_INTERVAL_MS} ms, ` +
      `jobs of ${JOB_MS} ms, on a private redis-server (${seconds.toFixed(1)} s)`,
  );
  console.log(line('command → job queued:', queued));
  console.log(line('job finished → final state visible:', visible));
  console.log(`  requests to the room: ${room.requests}; 429s (expected 0): ${room.refused}`);
  console.log(
    `  final states delivered: ${visible.length} of ${count}${settled ? '' : ' (whenSettled TIMED OUT)'}`,
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
