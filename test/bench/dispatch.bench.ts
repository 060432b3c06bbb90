// Benchmark: commands a second through the whole bot pipeline (ingress claim, parse, identify,
// authorize, enqueue, status message) against a raw BullMQ `add` loop, both on one private
// redis-server started here, in the same run: one at a time, then with 64 in flight on both sides.
// Must hold: at least 0.5 of raw BullMQ one at a time and 0.8 with 64 in flight. Prints the ratios last,
// and before them the CPU time a command costs each side, in this process and in the redis-server.
//   npm run bench   (or: node test/bench/dispatch.bench.ts [count])
import { Queue } from 'bullmq';
import { connectRedis } from '../../src/redis/connect.ts';
import { benchCore, fromAlice, privateRedis, silentChat, versionFor } from './bench-kit.ts';

const count = Number(process.argv[2] ?? 2000);
const IN_FLIGHT = 64;
const server = await privateRedis();

/** What one side did: commands a second, and the CPU time each cost this process and the Redis server (µs). */
interface Run {
  perSecond: number;
  cpuUs: number;
  redisUs: number;
}

/** The CPU time the Redis server has used so far (µs, from INFO cpu). */
async function redisCpu(admin: ReturnType<typeof connectRedis>): Promise<number> {
  const info = await admin.info('cpu');
  const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6;
}

/** Runs `one(i)` for i in [from, from + n), `inFlight` at a time. */
async function rate(
  n: number,
  from: number,
  inFlight: number,
  one: (i: number) => Promise<void>,
): Promise<Run> {
  let next = from;
  const admin = connectRedis(server.url);
  const redisBefore = await redisCpu(admin);
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, n) }, async () => {
      while (next < from + n) await one(next++);
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const redisUs = (await redisCpu(admin)) - redisBefore;
  admin.disconnect();
  return { perSecond: n / seconds, cpuUs: (used.user + used.system) / n, redisUs: redisUs / n };
}

async function rawBullmq(inFlight: number, from: number): Promise<Run> {
  const connection = connectRedis(server.url);
  const queue = new Queue('build', { connection, prefix: 'raw' });
  await queue.waitUntilReady();
  const run = await rate(count, from, inFlight, async (i) => {
    await queue.add('build', { product: 'cernvm', version: '2.6', format: 'kvm', i }, { jobId: `raw-${i}` });
  });
  await queue.close();
  connection.disconnect();
  return run;
}

async function vmopsPipeline(inFlight: number, from: number): Promise<Run> {
  // Nothing runs the jobs here: only dispatch is measured.
  const { core } = await benchCore(server, [silentChat]);
  const run = await rate(count, from, inFlight, async (i) => {
    const message = fromAlice(`build cernvm ${versionFor(i)} kvm`, {
      eventId: `bench-${i}`,
      room: `r${i % 100}`,
    });
    const handled = await core.handle(message);
    if (handled.jobs.length !== 1) throw new Error(`command ${i} queued ${handled.jobs.length} jobs`);
  });
  await core.close();
  return run;
}

try {
  const raw1 = await rawBullmq(1, 0);
  const ours1 = await vmopsPipeline(1, 0);
  const rawN = await rawBullmq(IN_FLIGHT, count);
  const oursN = await vmopsPipeline(IN_FLIGHT, count);
  console.log(`dispatch: ${count} commands each way, on a private redis-server`);
  const line = (raw: Run, ours: Run) =>
    `raw BullMQ add ${raw.perSecond.toFixed(0)} /s, vmops command pipeline ${ours.perSecond.toFixed(0)} /s`;
  console.log(`  one at a time:   ${line(raw1, ours1)}`);
  console.log(`  ${IN_FLIGHT} in flight:    ${line(rawN, oursN)}`);
  // Where the time goes: CPU per command in this process (the bot, or BullMQ's client) and in Redis.
  const cpu = (raw: Run, ours: Run) =>
    `this process ${raw.cpuUs.toFixed(0)} µs raw, ${ours.cpuUs.toFixed(0)} µs vmops; redis-server ${raw.redisUs.toFixed(0)} µs raw, ${ours.redisUs.toFixed(0)} µs vmops`;
  console.log(`  CPU per command, one at a time:  ${cpu(raw1, ours1)}`);
  console.log(`  CPU per command, ${IN_FLIGHT} in flight: ${cpu(rawN, oursN)}`);
  const one = ours1.perSecond / raw1.perSecond;
  const many = oursN.perSecond / rawN.perSecond;
  console.log(
    `  must hold: >= 0.5 one at a time, >= 0.8 with ${IN_FLIGHT} in flight: ${one >= 0.5 && many >= 0.8 ? 'yes' : 'NO'}`,
  );
  console.log(
    `dispatch ratio (vmops / raw BullMQ add): ${one.toFixed(2)} one at a time, ${many.toFixed(2)} with ${IN_FLIGHT} in flight`,
  );
} finally {
  await server.stop();
}
