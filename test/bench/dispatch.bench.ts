// Benchmark: commands a second through the whole bot pipeline (ingress claim, parse, identify,
// authorize, enqueue, status message) against a raw BullMQ `add` loop, both on one private
// redis-server started here, in the same run. Prints the ratio last.
//   npm run bench   (or: node test/bench/dispatch.bench.ts [count])
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import pino from 'pino';
import { startBotCore } from '../../src/bot-core.ts';
import { loadConfig } from '../../src/config-load.ts';
import { connectRedis } from '../../src/redis/connect.ts';
import { startRedisServer } from '../../src/redis/redis-server-process.ts';
import type { ChatAdapter, IncomingMessage } from '../../src/types.ts';

const count = Number(process.argv[2] ?? 2000);
const dir = mkdtempSync(join(tmpdir(), 'vmops-bench-'));
const server = await startRedisServer({ dir, appendOnly: false });

const silentChat: ChatAdapter = {
  network: 'bench',
  limits: { canEdit: true, minEditIntervalMs: 60_000, maxMessageLength: 4000 },
  start: async () => undefined,
  stop: async () => undefined,
  send: async (target) => ({ network: 'bench', room: target.room, id: 'x' }),
  edit: async () => undefined,
  directTarget: (account) => ({ network: 'bench', room: account, isDirect: true }),
};

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
  const config = structuredClone(loadConfig());
  config.redis.prefix = 'bench';
  config.people.alice = { roles: ['operator'], accounts: { bench: 'alice' } };
  config.jobs.refuseWithoutWorker = false; // nothing runs the jobs here: only dispatch is measured
  config.bot.throttle.commands = 1_000_000; // one person sends every command; the throttle's check still runs
  const core = await startBotCore({
    config,
    redisUrl: server.url,
    adapters: new Map([['bench', silentChat]]),
    log: pino({ level: 'silent' }),
    instanceId: 'bench',
  });
  const message = (i: number): IncomingMessage => ({
    eventId: `bench-${i}`,
    sender: { id: 'alice', displayName: 'alice', isBot: false, isSelf: false },
    target: { network: 'bench', room: 'r', isDirect: true },
    // A version per command: one image takes one job at a time, so the same build twice would be refused.
    text: `build cernvm 2.${Math.floor(i / 1000)}.${i % 1000} kvm`,
    mentioned: false,
    sentAt: Date.now(),
  });
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
  rmSync(dir, { recursive: true, force: true });
}
