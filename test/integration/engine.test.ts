// The engine end to end against a real Redis: a typed command becomes a queued job, a worker runs its
// recipe steps, and the room sees one status message edited to the final state.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Engine, startEngine, testConfig } from '../helpers/engine.ts';
import { message, type SentMessage } from '../helpers/fake-chat.ts';
import { until } from '../helpers/until.ts';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

const jobIdIn = (m: SentMessage) => /job ([a-z0-9-]+)/.exec(m.versions[0]?.text ?? '')?.[1];

describe('engine', () => {
  it('acknowledges a build with its job id, shows progress, and edits the same message to the final state', async () => {
    engine = await startEngine();
    const handled = await engine.core.handle(message('build 2.6 kvm'));
    expect(handled.jobs).toHaveLength(1);
    const [jobId] = handled.jobs;
    await engine.core.notifier.whenSettled(handled.jobs);
    expect(engine.chat.sent).toHaveLength(1);
    const status = engine.chat.sent[0] as SentMessage;
    expect(jobIdIn(status)).toBe(jobId);
    expect(status.versions[0]?.text).toMatch(/^(⏳|▶️) build cernvm 2\.6 kvm · job [a-z2-9]{8}/);
    expect(status.versions.some((v) => /step \d\/3/.test(v.text))).toBe(true);
    expect(status.versions.at(-1)?.text).toMatch(
      /^✅ build cernvm 2\.6 kvm · job .* · succeeded in \d+:\d\d · asked by alice$/,
    );
  });

  it('runs one job per format and posts one status message each', async () => {
    engine = await startEngine();
    const handled = await engine.core.handle(message('build 2.6 kvm vbox'));
    expect(handled.jobs.map((id) => id.split('-')[1])).toEqual(['kvm', 'virtualbox']);
    await engine.core.notifier.whenSettled(handled.jobs);
    expect(engine.chat.texts().map((t) => [...t][0])).toEqual(['✅', '✅']);
  });

  it('runs a redelivered event once, even when two bot instances receive it at the same time', async () => {
    engine = await startEngine();
    const second = await engine.addBot();
    const event = message('build 2.6 kvm');
    const results = await Promise.all([
      engine.core.handle(event),
      second.core.handle(event),
      engine.core.handle({ ...event }),
    ]);
    const withJobs = results.filter((r) => r.jobs.length > 0);
    expect(withJobs).toHaveLength(1);
    // Whichever instance took it writes its status message; the other does not wait on it.
    const took = results[1] === withJobs[0] ? second.core : engine.core;
    await took.notifier.whenSettled(withJobs[0]?.jobs ?? []);
    expect(engine.chat.sent.length + second.chat.sent.length).toBe(1);
    const recent = await engine.core.handle(message('jobs'));
    expect(recent.outcome).toBe('done');
    expect(
      engine.chat
        .texts()
        .at(-1)
        ?.match(/build cernvm 2\.6 kvm/g),
    ).toHaveLength(1);
    // After it is done, a late redelivery still adds nothing.
    expect((await second.core.handle({ ...event })).outcome).toBe('ignored');
  });

  it('writes each build, its audit entry and its event’s end together, however many instances append at once', async () => {
    engine = await startEngine({ worker: false });
    const second = await engine.addBot();
    const cores = [engine.core, second.core];
    // 30 builds of distinct versions, side by side on two instances, while other facts are appended:
    // the chain's head moves under every queueing script, which is run again on the new head.
    const noise = Array.from({ length: 30 }, (_, i) =>
      engine?.core.audit.append({ kind: 'test.noise', actor: 'test', summary: `noise ${i}` }),
    );
    const handled = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        cores[i % 2]?.handle(message(`build 3.${i} kvm`, { eventId: `burst-${i}` })),
      ),
    );
    await Promise.all(noise);
    const jobs = handled.map((h) => h?.jobs ?? []);
    expect(jobs.every((j) => j.length === 1)).toBe(true);
    expect(new Set(jobs.flat()).size).toBe(30);
    // One audit entry per build, saying done with its job; the chain verifies.
    const entries = (await engine.core.audit.recent(200)).filter((e) => e.kind === 'command');
    expect(entries).toHaveLength(30);
    for (const [i, job] of jobs.entries()) {
      const own = entries.filter((e) => e.detail?.event === `burst-${i}`);
      expect(own.map((e) => [e.detail?.outcome, e.detail?.jobs])).toEqual([['done', job[0]]]);
    }
    expect(await engine.core.audit.verify()).toMatchObject({ ok: true });
    // Every job is queued once, with its status message, and a redelivery adds nothing.
    for (const job of jobs.flat()) expect((await engine.core.jobs.get(job))?.state).toBe('queued');
    await until(() => second.chat.sent.length + (engine?.chat.sent.length ?? 0) === 30, {
      what: () => 'a status message per job',
    });
    expect((await second.core.handle(message('build 3.0 kvm', { eventId: 'burst-0' }))).outcome).toBe(
      'ignored',
    );
  });

  it('with two bot instances and two workers, answers each command once and runs each job once', async () => {
    engine = await startEngine({ workers: 2 });
    const second = await engine.addBot(engine.chat); // the same room: both instances see every event
    const commands = ['build 2.6 kvm xen', 'build 2.7 kvm vmware', 'jobs', 'build 2.8 hyperv', 'whoami'];
    const jobs: string[] = [];
    for (const text of commands) {
      const event = message(text);
      const before = engine.chat.sent.length;
      const results = await Promise.all([engine.core.handle(event), second.core.handle({ ...event })]);
      expect(results.filter((r) => r.outcome !== 'ignored')).toHaveLength(1);
      jobs.push(...results.flatMap((r) => r.jobs));
      // One reply (or one status message per job) per command, from whichever instance took it.
      const expected = results.flatMap((r) => r.jobs).length || 1;
      await engine.chat.waitFor(() => engine?.chat.sent.length === before + expected);
    }
    expect(jobs).toHaveLength(5);
    for (const job of jobs) {
      await engine.chat.waitFor((m) => jobIdIn(m) === job && /^✅/.test(m.versions.at(-1)?.text ?? ''));
    }
    expect(engine.chat.sent).toHaveLength(7);
    const starts = new Map<string, string[]>();
    for await (const entry of engine.core.audit.entries()) {
      if (entry.kind !== 'job.started') continue;
      const job = String((entry.detail as { job?: string } | undefined)?.job);
      starts.set(job, [...(starts.get(job) ?? []), entry.actor]);
    }
    expect([...starts.keys()].sort()).toEqual([...jobs].sort());
    for (const ran of starts.values()) expect(ran).toHaveLength(1);
  });

  it('refuses a viewer and a guest without queueing anything', async () => {
    engine = await startEngine();
    expect((await engine.core.handle(message('build 2.6 kvm', { account: 'carol' }))).outcome).toBe(
      'refused',
    );
    expect((await engine.core.handle(message('build 2.6 kvm', { account: 'mallory' }))).outcome).toBe(
      'refused',
    );
    expect(engine.chat.texts()).toEqual([
      expect.stringContaining('build needs the operator role: you (carol) have the roles viewer'),
      expect.stringContaining(
        'your fake account mallory is not listed in the vmops config, so you are a guest',
      ),
    ]);
    await engine.core.handle(message('jobs'));
    expect(engine.chat.texts().at(-1)).not.toMatch(/build cernvm/);
  });

  it('ignores its own messages, other bots and messages older than the cutoff', async () => {
    engine = await startEngine();
    const own = message('build 2.6 kvm');
    own.sender.isSelf = true;
    const bot = message('build 2.6 kvm');
    bot.sender.isBot = true;
    const old = message('build 2.6 kvm', { sentAt: Date.now() - 10 * 60_000 });
    for (const m of [own, bot, old]) expect((await engine.core.handle(m)).outcome).toBe('ignored');
    expect(engine.chat.sent).toHaveLength(0);
  });

  it('answers the same event again with the jobs it already made, though a later job holds their image', async () => {
    const config = testConfig((c) => {
      const test = c.products.cernvm?.stages.test;
      if (test) test.steps = [{ name: 'sleepy', run: ['test/fixtures/steps/sleep-forever.sh'] }];
    });
    engine = await startEngine({ config });
    const event = message('build 2.6 kvm');
    const { jobs } = await engine.core.handle(event);
    await engine.core.notifier.whenSettled(jobs);
    const testing = await engine.core.handle(message('test 2.6 kvm'));
    await engine.chat.waitFor((m) => /step 1\/1 sleepy/.test(m.versions.at(-1)?.text ?? ''));
    // A schedule tick run twice (its bot died under it), or an event whose claim lapsed, submits the
    // same event again while the test job holds the image: the build's job is the answer, not image_busy.
    const principal = {
      id: 'alice',
      known: true,
      roles: ['operator' as const],
      account: { network: 'fake', id: 'alice' },
      displayName: 'alice',
    };
    const again = await engine.core.jobs.submit(
      [{ stage: 'build', product: 'cernvm', version: '2.6', format: 'kvm' }],
      { principal, message: event, commandText: 'build 2.6 kvm' },
    );
    expect(again).toEqual(jobs);
    expect((await engine.core.jobs.list(10)).map((j) => j.jobId).sort()).toEqual(
      [...jobs, ...testing.jobs].sort(),
    );
    await engine.core.jobs.cancel(testing.jobs[0] ?? '', principal);
    await engine.core.notifier.whenSettled(testing.jobs);
  });

  it('cancels a running job by killing its step, and says who cancelled it', async () => {
    const config = testConfig((c) => {
      const build = c.products.cernvm?.stages.build;
      if (build) build.steps = [{ name: 'sleepy', run: ['test/fixtures/steps/sleep-forever.sh'] }];
    });
    engine = await startEngine({ config });
    const { jobs } = await engine.core.handle(message('build 2.6 kvm'));
    const [jobId = ''] = jobs;
    await engine.chat.waitFor((m) => /step 1\/1 sleepy/.test(m.versions.at(-1)?.text ?? ''));
    await engine.core.handle(message(`cancel ${jobId}`, { account: 'bob' }));
    await engine.core.notifier.whenSettled(jobs);
    const status = engine.chat.sent[0] as SentMessage;
    expect(status.versions.at(-1)?.text).toMatch(/^🚫 build cernvm 2\.6 kvm · job .* · cancelled by bob/);
    expect(engine.worker?.running()).toBe(0);
  });

  it('cancels a queued job before it starts', async () => {
    engine = await startEngine({ worker: false });
    const { jobs } = await engine.core.handle(message('build 2.6 kvm'));
    await engine.core.handle(message(`cancel ${jobs[0]}`));
    await engine.core.notifier.whenSettled(jobs);
    expect(engine.chat.sent[0]?.versions.at(-1)?.text).toMatch(/^🚫 .* cancelled by alice before it started/);
  });

  it('reports a failing step, keeps its log, and retries the job under the same id', async () => {
    const config = testConfig((c) => {
      const build = c.products.cernvm?.stages.build;
      for (const step of build?.steps ?? []) step.env = { ...step.env, VMOPS_DEMO_FAIL: 'assemble' };
    });
    engine = await startEngine({ config });
    const { jobs } = await engine.core.handle(message('build 2.6 kvm'));
    const [jobId = ''] = jobs;
    await engine.core.notifier.whenSettled(jobs);
    expect(engine.chat.texts()[0]).toMatch(
      /^❌ .* failed after \d+:\d\d: step 2\/3 assemble failed with exit code \d+/,
    );
    await engine.core.handle(message(`log ${jobId} --tail 5`));
    expect(engine.chat.texts().at(-1)).toMatch(/assemble/);
    await engine.core.handle(message(`retry ${jobId}`));
    await engine.core.notifier.whenSettled([jobId]);
    // The retry gets its own status message and runs again (and fails again: the recipe has not changed).
    const retried = engine.chat.sent.filter((m) => jobIdIn(m) === jobId);
    expect(retried).toHaveLength(2);
    expect(retried[1]?.versions.at(-1)?.text).toMatch(/^❌/);
  });

  it('answers status and jobs with the job state', async () => {
    engine = await startEngine();
    const { jobs } = await engine.core.handle(message('build 2.6 kvm'));
    await engine.core.notifier.whenSettled(jobs);
    await engine.core.handle(message(`status ${jobs[0]}`));
    expect(engine.chat.texts().at(-1)).toMatch(new RegExp(`${jobs[0]}.*succeeded`));
    await engine.core.handle(message('status nosuchjob'));
    expect(engine.chat.texts().at(-1)).toBe("no job 'nosuchjob': type jobs to see recent jobs.");
  });

  it('runs at most jobs.concurrency jobs at once in a worker process, across formats', async () => {
    const spans = join(mkdtempSync(join(tmpdir(), 'vmops-spans-')), 'spans');
    const config = testConfig((c) => {
      c.jobs.concurrency = 1;
      const build = c.products.cernvm?.stages.build;
      if (build)
        build.steps = [
          { name: 'span', run: ['test/fixtures/steps/record-span.sh'], env: { SPAN_FILE: spans } },
        ];
    });
    engine = await startEngine({ config });
    const { jobs } = await engine.core.handle(message('build 2.6 kvm xen vmware'));
    await engine.core.notifier.whenSettled(jobs);
    expect(engine.chat.texts().map((t) => [...t][0])).toEqual(['✅', '✅', '✅']);
    let running = 0;
    let most = 0;
    const events = readFileSync(spans, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' '))
      .sort((a, b) => Number(BigInt(a[2] ?? '0') - BigInt(b[2] ?? '0')));
    for (const [kind] of events) {
      running += kind === 'start' ? 1 : -1;
      most = Math.max(most, running);
    }
    expect(events).toHaveLength(6);
    expect(most).toBe(1);
  });
});
