// Benchmark: commands a second through the whole bot pipeline (ingress claim, parse, identify,
// authorize, enqueue, status message) against a raw BullMQ `add` loop, both on one private
// redis-server started here, in the same run: one at a time, then with 64 in flight on both sides.
// Must hold: at least 0.5 of raw BullMQ one at a time and 0.8 with 64 in flight. Prints the ratios last.
//   npm run bench   (or: node test/bench/dispatch.bench.ts [count])
import { Queue } from 'bullmq';
import { connectRedis } from '../../src/redis/connect.ts';
import { benchCore, fromAlice, privateRedis, silentChat, versionFor } from './bench-kit.ts';

const count = Number(process.argv[2] ?? 2000);
const IN_FLIGHT = 64;
const server = await privateRedis();

/** Runs `one(i)` for i in [from, from + n), `inFlight` at a time; commands a second. */
async function rate(n: number, from: number, inFlight: number, one: (i: number) => Promise<void>) {
  let next = from;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, n) }, async () => {
      while (next < from + n) await one(next++);
    }),
  );
  return n / ((performance.now() - start) / 1000);
}

async function rawBullmq(inFlight: number, from: number): Promise<number> {
  const connection = connectRedis(server.url);
  const queue = new Queue('build', { connection, prefix: 'raw' });
  await queue.waitUntilReady();
  const perSecond = await rate(count, from, inFlight, async (i) => {
    await queue.add('build', { product: 'cernvm', version: '2.6', format: 'kvm', i }, { jobId: `raw-${i}` });
  });
  await queue.close();
  connection.disconnect();
  return perSecond;
}

async function vmopsPipeline(inFlight: number, from: number): Promise<number> {
  // Nothing runs the jobs here: only dispatch is measured.
  const { core } = await benchCore(server, [silentChat]);
  const perSecond = await rate(count, from, inFlight, async (i) => {
    const message = fromAlice(`build cernvm ${versionFor(i)} kvm`, {
      eventId: `bench-${i}`,
      room: `r${i % 100}`,
    });
    const handled = await core.handle(message);
    if (handled.jobs.length !== 1) throw new Error(`command ${i} queued ${handled.jobs.length} jobs`);
  });
  await core.close();
  return perSecond;
}

try {
  const raw1 = await rawBullmq(1, 0);
  const ours1 = await vmopsPipeline(1, 0);
  const rawN = await rawBullmq(IN_FLIGHT, count);
  const oursN = await vmopsPipeline(IN_FLIGHT, count);
  console.log(`dispatch: ${count} commands each way, on a private redis-server`);
  console.log(
    `  one at a time:   raw BullMQ add ${raw1.toFixed(0)} /s, vmops command pipeline ${ours1.toFixed(0)} /s`,
  );
  console.log(
    `  ${IN_FLIGHT} in flight:    raw BullMQ add ${rawN.toFixed(0)} /s, vmops command pipeline ${oursN.toFixed(0)} /s`,
  );
  const one = ours1 / raw1;
  const many = oursN / rawN;
  console.log(
    `  must hold: >= 0.5 one at a time, >= 0.8 with ${IN_FLIGHT} in flight: ${one >= 0.5 && many >= 0.8 ? 'yes' : 'NO'}`,
  );
  console.log(
    `dispatch ratio (vmops / raw BullMQ add): ${one.toFixed(2)} one at a time, ${many.toFixed(2)} with ${IN_FLIGHT} in flight`,
  );
} finally {
  await server.stop();
}
