// Chaos: a `node src/main.ts worker` process told to stop while a job runs (failure-modes.md #1 and #3).
// The first SIGTERM lets the running job finish, and the job is not run again by another worker; a
// second SIGTERM cancels it, visibly, and it is not run again either. Both run with jobs.attempts 2 and
// a 2 s worker timeout, so a job left behind by a worker that just exited WOULD be run again (as in
// scale-out.test.ts 'a worker that vanishes', where SIGKILL does exactly that, and the room is told).
// local-mode.test.ts checks the first SIGTERM at the queue level; here the room and a second worker look on.
//
// Protections, each of which makes a test fail when taken away:
// - src/app/run-worker.ts awaits worker.close() on the first signal (BullMQ's close waits for running
//   jobs): exiting at once would leave the job active, and the second worker would run it again
//   (two `job.started` entries) after its lock lapsed.
// - src/app/process-life.ts watchSignals: a further signal while stopping calls close({ cancelRunning: true }), and
//   stage-worker.ts fails a cancelled job with an UnrecoverableError: without the first the job runs
//   to ✅ despite the second SIGTERM; without the second, attempts 2 would run it again elsewhere.
import { afterEach, describe, expect, it } from 'vitest';
import { finalText, jobIn, startsPerJob, startWorkerProcess, type WorkerProcess } from '../helpers/chaos.ts';
import { type Engine, startEngine, testConfig } from '../helpers/engine.ts';
import { message } from '../helpers/fake-chat.ts';
import { cleanPrefix, redisUrl } from '../helpers/redis.ts';

const undo: (() => Promise<unknown> | unknown)[] = [];
let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
  for (const step of undo.splice(0).reverse()) await step();
});

const ENDED = /^(✅|❌|🚫)/;

async function setUp(tick: number) {
  const config = testConfig((c) => {
    c.jobs.attempts = 2;
    c.jobs.workerTimeout = 2000;
  });
  undo.push(() => cleanPrefix(config.redis.prefix));
  engine = await startEngine({ config, worker: false });
  const e = engine;
  const worker = (stepTick = tick): WorkerProcess => {
    const w = startWorkerProcess({
      redisUrl: redisUrl(),
      prefix: config.redis.prefix,
      tick: stepTick,
      extraYaml: 'jobs:\n  attempts: 2\n  workerTimeout: 2s\n',
    });
    undo.push(() => w.stop());
    return w;
  };
  const first = worker();
  await first.logged('worker ready');
  const { jobs } = await e.core.handle(message('build 2.6 kvm'));
  expect(jobs).toHaveLength(1);
  const [job = ''] = jobs;
  await e.chat.waitFor((m) => jobIn(m) === job && /step 1\/3/.test(finalText(m)), 20_000);
  return { e, first, job, worker };
}

/**
 * A second worker takes a new command, and then stays up for a few of its stalled checks (every
 * second): nothing happens to the first job, and nothing can be awaited for that but time.
 */
async function secondWorkerLooksOn(e: Engine, worker: (tick: number) => WorkerProcess): Promise<string> {
  const second = worker(0.05);
  await second.logged('worker ready');
  const { jobs } = await e.core.handle(message('build 2.6 xen'));
  const [next = ''] = jobs;
  const status = await e.chat.waitFor((m) => jobIn(m) === next && ENDED.test(finalText(m)), 20_000);
  expect(finalText(status)).toMatch(/^✅ build cernvm 2\.6 xen/);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  return next;
}

describe('a worker process told to stop during a job', () => {
  it('on SIGTERM finishes the running job, tells the room, exits 0, and the job is not run again', async () => {
    const { e, first, job, worker } = await setUp(0.3);
    first.signal('SIGTERM');
    await first.logged('stopping: waiting for running jobs');
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('"msg":"worker stopped"');
    const status = await e.chat.waitFor((m) => jobIn(m) === job && ENDED.test(finalText(m)), 10_000);
    expect(finalText(status)).toMatch(/^✅ build cernvm 2\.6 kvm · job .* · succeeded in/);

    const next = await secondWorkerLooksOn(e, worker);
    expect(await startsPerJob(e.core.audit)).toEqual(
      new Map([
        [job, 1],
        [next, 1],
      ]),
    );
    expect(e.chat.sent.map(jobIn)).toEqual([job, next]);
    expect(finalText(status)).toMatch(/^✅/);
  }, 60_000);

  it('on a second SIGTERM cancels the running job, the room sees it cancelled, and it is not run again', async () => {
    // Slow steps: the job would run for 12 s if it were left alone.
    const { e, first, job, worker } = await setUp(1);
    first.signal('SIGTERM');
    await first.logged('stopping: waiting for running jobs');
    first.signal('SIGTERM');
    const status = await e.chat.waitFor((m) => jobIn(m) === job && ENDED.test(finalText(m)), 15_000);
    expect(finalText(status)).toMatch(
      /^🚫 build cernvm 2\.6 kvm · job \S+ · cancelled: the worker is shutting down/,
    );
    expect(await first.exited).toBe(0);

    const next = await secondWorkerLooksOn(e, worker);
    expect(await startsPerJob(e.core.audit)).toEqual(
      new Map([
        [job, 1],
        [next, 1],
      ]),
    );
    const kinds = (await e.core.audit.recent(100)).map((entry) => entry.kind);
    expect(kinds.filter((k) => k === 'job.cancelled')).toHaveLength(1);
    expect(e.chat.sent.map(jobIn)).toEqual([job, next]);
    expect(finalText(status)).toMatch(/^🚫/);
  }, 60_000);
});
