// Benchmark: commands a second through the whole bot pipeline (ingress claim, parse, identify,
// authorize, enqueue, status message) against a raw BullMQ `add` loop, both on one private
// redis-server started here, in the same run. Prints the ratio last.
//   npm run bench   (or: node test/bench/dispatch.bench.ts [count])
import { Queue } from 'bullmq';
import { connectRedis } from '../../src/redis/connect.ts';
import { benchCore, fromAlice, privateRedis, silentChat, versionFor } from './bench-kit.ts';

const count = Number(process.argv[2] ?? 2000);
const server = await privateRedis();

async function rawBullmq(): Promise<number> {
  const connection = connectRedis(server.url);
  const queue = new Queue('build', { connection, prefix: 'raw' });
  await queue.waitUntilReady();
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    await queue.add('build', { product: 'cernvm', version: '2.6', format: 'kvm', i }, { jobId: `raw-${i}` });
  }
  const seconds = (performance.now() - start) / 1000;
  await queue.close();
  connection.disconnect();
  return count / seconds;
}

async function vmopsPipeline(): Promise<number> {
  // Nothing runs the jobs here: only dispatch is measured.
  const { core } = await benchCore(server, [silentChat]);
  const message = (i: number) =>
    fromAlice(`build cernvm ${versionFor(i)} kvm`, { eventId: `bench-${i}`, room: 'r' });
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const handled = await core.handle(message(i));
    if (handled.jobs.length !== 1) throw new Error(`command ${i} queued ${handled.jobs.length} jobs`);
  }
  const seconds = (performance.now() - start) / 1000;
  await core.close();
  return count / seconds;
}

try {
  const raw = await rawBullmq();
  const ours = await vmopsPipeline();
  console.log(`dispatch: ${count} commands, one at a time, on a private redis-server`);
  console.log(`  raw BullMQ add:          ${raw.toFixed(0)} /s`);
  console.log(`  vmops command pipeline:  ${ours.toFixed(0)} /s`);
  console.log(`dispatch ratio (vmops / raw BullMQ add): ${(ours / raw).toFixed(2)}`);
} finally {
  await server.stop();
}
