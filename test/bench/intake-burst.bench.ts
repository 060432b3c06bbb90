// Benchmark: a burst of commands (default 100) into ONE room whose network lets the bot send one
// message a second, taken in as main.ts takes them (adapter → core.take → durable intake → pipeline).
// Reports p50/p95/max of command → job queued (the job's creation time in Redis minus the moment the
// command was handed over). Taking in must not wait on sending: before the intake, the n-th command of
// a burst waited for the n-1 replies before it (about n seconds here). The baseline is raw BullMQ `add`
// of the same number of jobs, all at once, on the same private redis-server in the same run. Prints
// the ratio of the p95s last. (Job finished → final state visible, against the room's minimum edit
// interval, is the outbox's half: see progress-fanout.bench.ts.)
//   node test/bench/intake-burst.bench.ts [count]
import { Queue } from 'bullmq';
import pino from 'pino';
import { startBotCore } from '../../src/bot-core.ts';
import { loadConfig } from '../../src/config-load.ts';
import { connectRedis } from '../../src/redis/connect.ts';
import type { ChatAdapter, IncomingMessage, MessageRef } from '../../src/types.ts';
import { fromAlice, ms, percentile, privateRedis, versionFor } from './bench-kit.ts';

const count = Number(process.argv[2] ?? 100);
const SEND_INTERVAL_MS = 1000; // the room's rate limit: one message a second
const server = await privateRedis();

/** A network that sends one message a second into a room, in order, like a paced send queue. */
function pacedChat(): ChatAdapter & { handOver(message: IncomingMessage): Promise<void> } {
  let onMessage: (message: IncomingMessage) => Promise<void> = async () => undefined;
  let nextSlot = 0;
  let n = 0;
  const paced = async (): Promise<void> => {
    const at = Math.max(Date.now(), nextSlot);
    nextSlot = at + SEND_INTERVAL_MS;
    await new Promise((resolve) => setTimeout(resolve, at - Date.now()));
  };
  return {
    network: 'bench',
    limits: { canEdit: true, minEditIntervalMs: SEND_INTERVAL_MS, maxMessageLength: 4000 },
    start: async (handler) => {
      onMessage = handler;
    },
    stop: async () => undefined,
    send: async (target): Promise<MessageRef> => {
      await paced();
      n += 1;
      return { network: 'bench', room: target.room, id: `m${n}` };
    },
    edit: async () => paced(),
    directTarget: (account) => ({ network: 'bench', room: account, isDirect: true }),
    handOver: (message) => onMessage(message),
  };
}

async function rawBullmq(): Promise<number[]> {
  const connection = connectRedis(server.url);
  const queue = new Queue('build', { connection, prefix: 'raw' });
  await queue.waitUntilReady();
  const t0 = Date.now();
  const jobs = await Promise.all(
    Array.from({ length: count }, (_, i) => queue.add('build', { i }, { jobId: `raw-${i}` })),
  );
  const latencies = jobs.map((job) => job.timestamp - t0);
  await queue.close();
  connection.disconnect();
  return latencies;
}

async function vmopsIntake(): Promise<{ latencies: number[]; seconds: number }> {
  const chat = pacedChat();
  const config = structuredClone(loadConfig());
  config.redis.prefix = 'bench-intake';
  config.people.alice = { roles: ['operator'], accounts: { bench: 'alice' } };
  config.jobs.refuseWithoutWorker = false;
  config.bot.throttle.commands = 1_000_000;
  const queued: { message: IncomingMessage; jobs: string[] }[] = [];
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  const core = await startBotCore({
    config,
    redisUrl: server.url,
    adapters: new Map([[chat.network, chat]]),
    log: pino({ level: 'silent' }),
    instanceId: 'bench-intake',
    onHandled: (message, handled) => {
      queued.push({ message, jobs: handled.jobs });
      if (queued.length === count) done();
    },
  });
  await chat.start(async (message) => {
    await core.take(message);
  });
  const handedAt = new Map<string, number>();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const message = fromAlice(`build cernvm ${versionFor(i)} kvm`, { eventId: `burst-${i}`, room: 'ops' });
    handedAt.set(message.eventId, Date.now());
    void chat.handOver(message);
  }
  await all;
  const seconds = (performance.now() - t0) / 1000;
  const latencies: number[] = [];
  for (const { message, jobs } of queued) {
    const [jobId] = jobs;
    if (!jobId) throw new Error(`command ${message.eventId} queued no job`);
    const view = await core.jobs.get(jobId);
    latencies.push((view?.createdAt ?? Number.NaN) - (handedAt.get(message.eventId) ?? Number.NaN));
  }
  // Its status messages and replies are still waiting for the room's one-a-second limit: not measured here.
  await core.intake.stop();
  await core.close();
  return { latencies, seconds };
}

const line = (name: string, values: number[]) =>
  `  ${name.padEnd(30)} p50 ${ms(percentile(values, 50))}   p95 ${ms(percentile(values, 95))}   max ${ms(Math.max(...values))}`;

try {
  const raw = await rawBullmq();
  const ours = await vmopsIntake();
  console.log(
    `intake burst: ${count} commands at once into one room sending 1 message/s, on a private redis-server` +
      ` (all queued in ${ours.seconds.toFixed(1)} s)`,
  );
  console.log(line('raw BullMQ add (all at once):', raw));
  console.log(line('vmops command → job queued:', ours.latencies));
  const ratio = percentile(ours.latencies, 95) / Math.max(1, percentile(raw, 95));
  console.log(
    `intake burst ratio (vmops p95 command → job queued / raw BullMQ add p95): ${ratio.toFixed(2)}`,
  );
} finally {
  await server.stop();
}
process.exit(0);
