// The notifier against a real Redis: edits coalesced under an adapter's limit with the final state
// always delivered, one writer per status message across bot instances, and a takeover when the
// writer goes away.

import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { SendFailure } from '../../src/chat/send-failure.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { type Engine, startEngine, testConfig } from '../helpers/engine.ts';
import { FakeChat, message } from '../helpers/fake-chat.ts';
import { redisUrl } from '../helpers/redis.ts';
import { until } from '../helpers/until.ts';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

/** A build whose two steps report progress about fifty times a second each. */
function chattyConfig() {
  return testConfig((c) => {
    const build = c.products.cernvm?.stages.build;
    if (build) {
      build.steps = [
        { name: 'chatty', run: ['test/fixtures/steps/chatty.sh'] },
        { name: 'chatty-again', run: ['test/fixtures/steps/chatty.sh'] },
      ];
    }
  });
}

describe('notifier', () => {
  it('merges progress edits to at most one per interval and still delivers the final state', async () => {
    const chat = new FakeChat('fake', { minEditIntervalMs: 300 });
    engine = await startEngine({ config: chattyConfig(), chat });
    const { jobs } = await engine.core.handle(message('build 2.6 kvm'));
    await engine.core.notifier.whenSettled(jobs);
    const status = chat.sent[0];
    expect(status?.versions.at(-1)?.text).toMatch(/^✅ build cernvm 2\.6 kvm/);
    // No two versions of the message closer together than the limit allows.
    const times = status?.times ?? [];
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(290);
    // 80 progress reports merge: while the job ran, at most one edit per interval after the post, then
    // the final state. The job takes ~2 s on an idle machine and 5 s or more on a loaded one, so the
    // count is bounded by how long it really ran, not by a fixed number; edits sent one per report
    // (paced, not merged) would still be coming long after the job ended and break this bound.
    const view = await engine.core.jobs.get(jobs[0] ?? '');
    const ranFromPost = (view?.finishedAt ?? 0) - (times[0] ?? 0);
    expect(status?.versions.length).toBeLessThanOrEqual(2 + Math.floor(ranFromPost / 300));
  });

  it('draws a status message when it goes out: a job that ran while its post waited shows how it ended', async () => {
    // Sends into the room are held: the post of the status message waits behind a reply.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    class HeldChat extends FakeChat {
      override async send(...args: Parameters<FakeChat['send']>) {
        await held;
        return super.send(...args);
      }
    }
    const chat = new HeldChat();
    engine = await startEngine({ chat });
    const core = engine.core;
    void core.handle(message('whoami'));
    const { jobs } = await core.handle(message('build 2.6 kvm'));
    await until(async () => (await core.jobs.get(jobs[0] ?? ''))?.state === 'succeeded', {
      what: 'the job to succeed while its status message waits',
    });
    release();
    await core.notifier.whenSettled(jobs);
    const status = chat.sent.find((m) => m.versions[0]?.text.includes('build cernvm 2.6 kvm'));
    // Not "queued" first and then edited: the post shows the job as it is when it goes out.
    expect(status?.versions.map((v) => v.text.slice(0, 1))).toEqual(['✅']);
  });

  it('remembers only the newest settled jobs, and still answers whenSettled for older ones', async () => {
    engine = await startEngine({ settledKept: 2 });
    const { jobs } = await engine.core.handle(message('build 2.6 kvm vmware xen hyperv'));
    expect(jobs).toHaveLength(4);
    await engine.core.notifier.whenSettled(jobs);
    // Two of the four are forgotten by now; asked again, each is looked up and found final at once.
    for (const job of jobs) await engine.core.notifier.whenSettled([job]);
    expect(engine.chat.sent.map((m) => m.versions.at(-1)?.text ?? '')).toEqual(
      jobs.map(() => expect.stringMatching(/^✅ build cernvm 2\.6 \w+ · job \S+ · succeeded/)),
    );
  });

  it('has one writer per status message when several bot instances share Redis', async () => {
    engine = await startEngine({ config: chattyConfig() });
    const other = await engine.addBot();
    const { jobs } = await engine.core.handle(message('build 2.6 kvm'));
    await engine.core.notifier.whenSettled(jobs);
    expect(engine.chat.sent[0]?.versions.at(-1)?.text).toMatch(/^✅/);
    expect(other.chat.editAttempts).toBe(0);
  });

  it('lets another instance take over the edits when the writer goes away mid-job', async () => {
    const shared = new FakeChat();
    engine = await startEngine({ config: chattyConfig(), chat: shared, statusLeaseMs: 300 });
    const other = await engine.addBot(shared);
    const { jobs } = await engine.core.handle(message('build 2.6 kvm'));
    await shared.waitFor((m) => /step 1\/2 chatty/.test(m.versions.at(-1)?.text ?? ''));
    await engine.core.close(); // the writer's process is gone
    await other.core.notifier.whenSettled(jobs);
    expect(shared.sent).toHaveLength(1);
    expect(shared.sent[0]?.versions.at(-1)?.text).toMatch(/^✅ build cernvm 2\.6 kvm/);
  });

  it('holds the messages of all its jobs with one lease key, and gives each job up once its state is final', async () => {
    engine = await startEngine();
    const redis = new Redis(redisUrl());
    try {
      const { prefix } = engine.config.redis;
      const keys = redisKeys(prefix);
      const leaseKeys = async () => [
        ...(await redis.keys(`${prefix}:status-lease:*`)),
        ...(await redis.keys(`${prefix}:status-writer:*`)),
      ];
      const jobs = [];
      for (const version of ['2.6', '2.7', '2.8']) {
        jobs.push(...(await engine.core.handle(message(`build ${version} kvm`))).jobs);
      }
      for (const jobId of jobs) await engine.core.notifier.posted(jobId);
      expect(await redis.hlen(keys.statusMessages)).toBe(3);
      expect(await leaseKeys()).toHaveLength(1);
      await engine.core.notifier.whenSettled(jobs);
      await until(async () => (await redis.hlen(keys.statusMessages)) === 0, {
        what: 'the messages given up',
      });
      expect(engine.chat.sent.map((m) => m.versions.at(-1)?.text.slice(0, 1))).toEqual(['✅', '✅', '✅']);
    } finally {
      redis.disconnect();
    }
  });

  it('tries an edit the network refuses for good once, and gives up on that message', async () => {
    const broken = new FakeChat();
    broken.edit = async () => {
      broken.editAttempts += 1;
      throw new SendFailure('message_not_found', { retryable: false, platformCode: 'message_not_found' });
    };
    engine = await startEngine({ chat: broken });
    const abandoned = new Promise<string>((resolve) => engine?.core.notifier.once('abandoned', resolve));
    const { jobs } = await engine.core.handle(message('build 2.6 kvm'));
    expect(await abandoned).toBe(jobs[0]);
    const attempts = broken.editAttempts;
    expect(attempts).toBe(1); // no retry layer above the outbox, and the outbox retries no refusal
    // Later progress of the job does not wake it up again.
    await engine.core.notifier.whenSettled(jobs);
    expect(broken.editAttempts).toBe(attempts);
  });

  it('sends a network that cannot edit one message per change of state, not per progress report', async () => {
    const plain = new FakeChat('fake', { canEdit: false, minEditIntervalMs: 20 });
    engine = await startEngine({ config: chattyConfig(), chat: plain });
    const { jobs } = await engine.core.handle(message('build 2.6 kvm'));
    await engine.core.notifier.whenSettled(jobs);
    const shown = plain.sent[0]?.versions.map((v) => v.status?.state) ?? [];
    expect(shown.at(-1)).toBe('succeeded');
    expect(new Set(shown).size).toBe(shown.length); // no state twice: 80 progress reports, at most 3 messages
  });

  it('puts a failed job’s log tail and a test job’s report in the status message’s thread, where the network has threads', async () => {
    const threaded = new FakeChat('fake', { threads: true });
    const config = testConfig((c) => {
      const stages = c.products.cernvm?.stages;
      if (!stages) return;
      stages.build = { steps: [{ name: 'assemble', run: ['test/fixtures/steps/fails-for-xen.sh'] }] };
      stages.test = { steps: [{ name: 'check', run: ['test/fixtures/steps/passing-report.sh'] }] };
    });
    engine = await startEngine({ config, chat: threaded });
    const run = async (text: string) => {
      if (!engine) throw new Error('no engine');
      const { jobs } = await engine.core.handle(message(text));
      await engine.core.notifier.whenSettled(jobs);
      return jobs[0] ?? '';
    };
    const statusOf = (jobId: string) => threaded.sent.find((m) => m.versions[0]?.status?.jobId === jobId);
    const thread = (jobId: string) =>
      threaded.sent
        .filter((m) => m.target.thread !== undefined && m.target.thread === statusOf(jobId)?.ref.id)
        .map((m) => m.versions.at(-1)?.text);
    const built = await run('build 2.6 kvm');
    const tested = await run('test 2.6 kvm');
    const failed = await run('build 2.6 xen');
    expect(statusOf(failed)?.versions.at(-1)?.text).toMatch(/^❌ build cernvm 2\.6 xen/);
    // A build that succeeded leaves no thread; a test job's has its report; a failure's has its log tail.
    expect(thread(built)).toEqual([]);
    expect(thread(tested)).toEqual([
      `Test report of ${tested}:\nTAP report: 1 test, 1 passed, 0 failed, 0 skipped`,
    ]);
    const [tail] = thread(failed);
    expect(tail).toMatch(
      new RegExp(`^The last \\d+ lines of the log of ${failed} \\(log ${failed} --tail 500 for more\\):\n`),
    );
    expect(tail).toContain('assembling xen');
    expect(tail).toContain('the disk is full');
    // Networks without threads get none of this: `log` and `report` have it.
  });

  it('leaves networks without threads alone: no details after the status message', async () => {
    const plain = new FakeChat('fake');
    engine = await startEngine({
      chat: plain,
      config: testConfig((c) => {
        const stages = c.products.cernvm?.stages;
        if (stages)
          stages.build = { steps: [{ name: 'assemble', run: ['test/fixtures/steps/fails-for-xen.sh'] }] };
      }),
    });
    const { jobs } = await engine.core.handle(message('build 2.6 xen'));
    await engine.core.notifier.whenSettled(jobs);
    expect(plain.sent).toHaveLength(1);
    expect(plain.sent[0]?.versions.at(-1)?.text).toMatch(/^❌ build cernvm 2\.6 xen/);
  });

  it('cuts a reply to what one message of the network may carry, and says so', async () => {
    const small = new FakeChat('fake', { maxMessageLength: 120 });
    engine = await startEngine({ chat: small, worker: false });
    await engine.core.handle(message('help'));
    const text = small.texts()[0] ?? '';
    expect(Array.from(text).length).toBeLessThanOrEqual(120);
    expect(text).toMatch(/^Commands you may run[\s\S]*\n… \(\d+ more characters not shown\)$/);
  });
});
