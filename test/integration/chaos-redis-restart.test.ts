// Chaos: the Redis under a build goes away and comes back (failure-modes.md #3, facts.md: "workers that
// stop taking jobs while looking healthy — test with a real restart"). A dedicated redis-server with
// AOF in a temp dir, the bot core in this process, and a `node src/main.ts worker` process; Redis is
// killed (SIGKILL, losing at most its last second of writes) or shut down (SIGTERM, as SHUTDOWN) in
// the middle of a build, then started again on the same port with the same directory.
//
// The protections this proves, each of which makes the test fail when taken away (checked by hand
// on a copy of the tree):
// - AOF (appendonly yes, as local mode uses and production should): without it the restarted Redis
//   has no queue, no catalog and no worker announcement, and the command typed during the outage is
//   refused.
// - The bot's own connection queues and retries commands while Redis is away (maxRetriesPerRequest 20
//   with backoff, src/redis/connect.ts): with 1 retry, the command typed during the outage is dropped
//   without a reply (ingress fails, handle-message.ts logs it and ignores the message).
// - The worker keeps taking jobs after the restart (BullMQ forces maxRetriesPerRequest: null on its
//   blocking connections; facts.md's warning is checked with a command typed after the restart, on
//   the same worker process, with jobs.refuseWithoutWorker on, so a lost announcement would refuse it).
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/redis-server-process.ts';
import { finalText, jobIn, startsPerJob, startWorkerProcess } from '../helpers/chaos.ts';
import { type Engine, startEngine, testConfig } from '../helpers/engine.ts';
import { message } from '../helpers/fake-chat.ts';

const undo: (() => Promise<unknown> | unknown)[] = [];
let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
  for (const step of undo.splice(0).reverse()) await step();
});

describe.each(['SIGKILL', 'SIGTERM'] as const)('Redis stopped with %s during a build', (how) => {
  it('comes back: the build ends in the room once, a command typed during the outage runs, and the worker keeps taking jobs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmops-chaos-redis-'));
    undo.push(() => rmSync(dir, { recursive: true, force: true }));
    let server: RedisServerHandle = await startRedisServer({ dir, appendOnly: true });
    undo.push(() => server.stop());
    const config = testConfig();
    engine = await startEngine({ config, redis: server.url, worker: false });
    // startEngine turns the worker check off when it starts no worker itself; the worker process is the worker.
    engine.config.jobs.refuseWithoutWorker = true;
    const worker = startWorkerProcess({ redisUrl: server.url, prefix: config.redis.prefix, tick: 0.3 });
    undo.push(() => worker.stop());
    await worker.logged('worker ready');
    const chat = engine.chat;

    const first = await engine.core.handle(message('build 2.6 kvm'));
    expect(first.jobs).toHaveLength(1);
    const [building = ''] = first.jobs;
    // Step 2 of 3: the job has been running for more than a second, longer than AOF's fsync interval.
    await chat.waitFor((m) => jobIn(m) === building && /step 2\/3/.test(finalText(m)), 20_000);

    const down = once(server.process, 'exit');
    server.process.kill(how);
    await down;
    const typedDuringOutage = engine.core.handle(message('build 2.6 vmware'));
    // The outage itself: Redis stays away for a while (there is nothing to wait for but time).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    server = await startRedisServer({ dir, port: server.port, appendOnly: true });

    const during = await typedDuringOutage;
    expect(during.outcome).toBe('done');
    expect(during.jobs).toHaveLength(1);
    const built = await chat.waitFor(
      (m) => jobIn(m) === building && /^(✅|❌|🚫)/.test(finalText(m)),
      40_000,
    );
    expect(finalText(built)).toMatch(/^✅ build cernvm 2\.6 kvm · job .* · succeeded in/);

    // A new command after the restart is taken by the same worker process and runs to its end.
    const after = await engine.core.handle(message('build 2.6 xen'));
    expect(after.outcome).toBe('done');
    expect(after.jobs).toHaveLength(1);
    for (const job of [...during.jobs, ...after.jobs]) {
      const status = await chat.waitFor((m) => jobIn(m) === job && /^(✅|❌|🚫)/.test(finalText(m)), 30_000);
      expect(finalText(status)).toMatch(/^✅ build cernvm 2\.6 (vmware|xen) · job .* · succeeded in/);
    }

    // One status message per job, none posted twice, each job run once.
    const jobs = [building, ...during.jobs, ...after.jobs];
    expect(chat.sent.map(jobIn)).toEqual(jobs);
    expect(await startsPerJob(engine.core.audit)).toEqual(new Map(jobs.map((job) => [job, 1])));
    expect(worker.output().split('"msg":"job started"')).toHaveLength(4);
    // The worker is still announced (its heartbeat came back with Redis).
    const agents = await engine.core.liveWorkers();
    expect(agents.map((a) => a.pid)).toEqual([worker.child.pid]);

    worker.signal('SIGTERM');
    expect(await worker.exited).toBe(0);
  }, 120_000);
});
