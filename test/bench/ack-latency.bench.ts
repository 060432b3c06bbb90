// Benchmark: command → acknowledgement latency at a fixed arrival rate of 100 commands a second.
// Open loop: command i is delivered at start + i × 10 ms whether or not earlier ones have been answered,
// so a slow bot builds a backlog and its latency shows it (no coordinated omission). Latency runs from
// the command's scheduled delivery to the first message the bot sends into its room (the reply or the
// job's status message) on a fake adapter. The baseline is raw BullMQ `add` at the same rate on the
// same private redis-server, in the same run: scheduled time to the add's promise resolving.
// Prints p50/p99 for both, and the ratio of the p99s last.
//   npm run bench   (or: node test/bench/ack-latency.bench.ts [count])
import { Queue } from 'bullmq';
import { connectRedis } from '../../src/redis/connect.ts';
import type { ChatAdapter, ChatTarget, IncomingMessage, MessageRef, Reply } from '../../src/types.ts';
import { benchCore, fromAlice, ms, percentile, privateRedis, sleepUntil, versionFor } from './bench-kit.ts';

const count = Number(process.argv[2] ?? 1500);
const INTERVAL_MS = 10; // 100 commands a second
const WARMUP = 20; // closed-loop operations before each measured run, not counted
const server = await privateRedis();

interface Run {
  /** Scheduled delivery → acknowledgement, one per operation (ms). */
  latencies: number[];
  /** How late the open-loop timer fired, worst case (ms): large values mean this process was the bottleneck. */
  worstFireLag: number;
  seconds: number;
}

/** Fires `operation(i)` at t0 + i × 10 ms without waiting for earlier ones; `operation` resolves at its ack time. */
async function openLoop(operation: (i: number) => Promise<number>): Promise<Run> {
  const latencies: number[] = new Array(count);
  const pending: Promise<void>[] = [];
  let worstFireLag = 0;
  const t0 = performance.now() + 50;
  for (let i = 0; i < count; i++) {
    const scheduled = t0 + i * INTERVAL_MS;
    await sleepUntil(scheduled);
    worstFireLag = Math.max(worstFireLag, performance.now() - scheduled);
    pending.push(
      operation(i).then((ackedAt) => {
        latencies[i] = ackedAt - scheduled;
      }),
    );
  }
  await Promise.all(pending);
  return { latencies, worstFireLag, seconds: (performance.now() - t0) / 1000 };
}

async function rawBullmq(): Promise<Run> {
  const connection = connectRedis(server.url);
  const queue = new Queue('build', { connection, prefix: 'raw' });
  await queue.waitUntilReady();
  const data = (i: number) => ({ product: 'cernvm', version: '2.6', format: 'kvm', i });
  for (let i = 0; i < WARMUP; i++) await queue.add('build', data(i), { jobId: `warm-${i}` });
  const run = await openLoop(async (i) => {
    await queue.add('build', data(i), { jobId: `raw-${i}` });
    return performance.now();
  });
  await queue.close();
  connection.disconnect();
  return run;
}

async function vmopsPipeline(): Promise<Run> {
  // First send into each room: the acknowledgement of the one command delivered there.
  const acked = new Map<string, (at: number) => void>();
  const refused: string[] = []; // an error reply is an acknowledgement too, but not of a queued job
  let onMessage: (message: IncomingMessage) => Promise<void> = async () => undefined;
  const chat: ChatAdapter = {
    network: 'bench',
    limits: { canEdit: true, minEditIntervalMs: 60_000, maxMessageLength: 4000 },
    start: async (handler) => {
      onMessage = handler;
    },
    stop: async () => undefined,
    send: async (target: ChatTarget, reply: Reply): Promise<MessageRef> => {
      const at = performance.now();
      if (reply.tone === 'error') refused.push(reply.text);
      acked.get(target.room)?.(at);
      acked.delete(target.room);
      return { network: 'bench', room: target.room, id: `m-${target.room}` };
    },
    edit: async () => undefined,
    directTarget: (account) => ({ network: 'bench', room: account, isDirect: true }),
  };
  // Nothing runs the jobs here: only the acknowledgement is measured.
  const { core } = await benchCore(server, [chat]);
  const deliver = (message: IncomingMessage) => onMessage(message);
  const message = (room: string, version: string) =>
    fromAlice(`build cernvm ${version} kvm`, { eventId: `bench-${room}`, room });
  for (let i = 0; i < WARMUP; i++) await deliver(message(`warm-${i}`, `1.0.${i}`));
  const run = await openLoop(
    (i) =>
      new Promise<number>((resolve, reject) => {
        const room = `r-${i}`;
        acked.set(room, resolve);
        // The status message goes out through the outbox after the command is handled: the
        // acknowledgement is when it reaches the room.
        deliver(message(room, versionFor(i))).catch(reject);
      }),
  );
  await core.close();
  if (refused.length > 0) throw new Error(`${refused.length} commands were refused, e.g.: ${refused[0]}`);
  return run;
}

function describe(name: string, run: Run): string {
  return [
    `  ${name.padEnd(28)} p50 ${ms(percentile(run.latencies, 50))}   p99 ${ms(percentile(run.latencies, 99))}`,
    `max ${ms(Math.max(...run.latencies))}   (timer late by up to ${run.worstFireLag.toFixed(1)} ms)`,
  ].join('   ');
}

try {
  const raw = await rawBullmq();
  const ours = await vmopsPipeline();
  console.log(
    `ack latency: ${count} commands, open loop at ${1000 / INTERVAL_MS}/s, on a private redis-server` +
      ` (${ours.seconds.toFixed(1)} s)`,
  );
  console.log(describe('raw BullMQ add:', raw));
  console.log(describe('vmops command → first send:', ours));
  const ratio = percentile(ours.latencies, 99) / percentile(raw.latencies, 99);
  console.log(`ack latency ratio (vmops p99 / raw BullMQ add p99): ${ratio.toFixed(2)}`);
} finally {
  await server.stop();
}
