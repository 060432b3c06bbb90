// Failure modes from ../shared/notes/failure-modes.md that the engine must rule out, each shown against
// a real Redis: double execution, lost commands when a bot instance dies mid-command, cancel and retry
// races, job id collisions, config leaks to guests, commands that need an approval.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { admit } from '../../src/pipeline/ingress.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { type Engine, startEngine, testConfig } from '../helpers/engine.ts';
import { eventState } from '../helpers/event-state.ts';
import { message } from '../helpers/fake-chat.ts';
import { redisUrl } from '../helpers/redis.ts';

let engine: Engine | undefined;
const redis = new Redis(redisUrl());
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

describe('ingress claims', () => {
  const keys = redisKeys('test-ingress');
  const options = (instanceId: string, claimMs = 60_000) => ({
    redis,
    keys,
    maxAgeMs: 60_000,
    instanceId,
    claimMs,
  });

  it('lets a redelivery run a command whose first handler died before finishing', async () => {
    const event = message('build 2.6 kvm');
    const first = await admit(event, options('dead-bot', 100));
    expect(first.admit).toBe(true);
    expect((await admit(event, options('other-bot'))).admit).toBe(false);
    // The first handler never releases its claim; once it lapses, the platform's redelivery is handled.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const second = await admit(event, options('other-bot'));
    expect(second.admit).toBe(true);
    if (!second.admit || !first.admit) return;
    await second.release('done');
    // The dead handler waking up late cannot undo the live one's decision.
    await first.release('failed');
    expect(await eventState(event, { redis, keys })).toBe('done');
    expect((await admit(event, options('third-bot'))).admit).toBe(false);
  });

  it('forgets an event whose handling failed, so a redelivery may try again', async () => {
    const event = message('build 2.6 kvm');
    const verdict = await admit(event, options('bot'));
    if (!verdict.admit) throw new Error('expected the event to be admitted');
    await verdict.release('failed');
    expect((await admit(event, options('bot'))).admit).toBe(true);
  });
});

describe('job control races', () => {
  it('two cancels of a queued job leave it cancelled, not vanished', async () => {
    engine = await startEngine({ worker: false });
    const { jobs } = await engine.core.handle(message('build 2.6 kvm'));
    const [jobId = ''] = jobs;
    await Promise.all([
      engine.core.handle(message(`cancel ${jobId}`)),
      engine.core.handle(message(`cancel ${jobId}`, { account: 'bob' })),
    ]);
    await engine.core.notifier.whenSettled(jobs);
    expect(engine.chat.sent[0]?.versions.at(-1)?.text).toMatch(
      /^🚫 .* cancelled by (alice|bob) before it started/,
    );
    await engine.core.handle(message(`status ${jobId}`));
    expect(engine.chat.texts().at(-1)).toMatch(new RegExp(`${jobId}.*cancelled`));
  });

  it('two retries of one failed job run it once more, and the second is told why not', async () => {
    const config = testConfig((c) => {
      for (const step of c.products.cernvm?.stages.build?.steps ?? []) {
        step.env = { ...step.env, VMOPS_DEMO_FAIL: 'prepare' };
      }
    });
    engine = await startEngine({ config });
    const { jobs } = await engine.core.handle(message('build 2.6 kvm'));
    const [jobId = ''] = jobs;
    await engine.core.notifier.whenSettled(jobs);
    const results = await Promise.all([
      engine.core.handle(message(`retry ${jobId}`)),
      engine.core.handle(message(`retry ${jobId}`, { account: 'bob' })),
    ]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['done', 'refused']);
    expect(engine.chat.texts()).toContainEqual(
      expect.stringMatching(new RegExp(`^job ${jobId} is (queued|running|failed)`)),
    );
    await engine.core.notifier.whenSettled([jobId]);
  });

  it('gives a longer id to a command whose id another event already holds, instead of dropping it', async () => {
    engine = await startEngine({ worker: false });
    const event = message('build 2.6 kvm');
    const { jobBaseId } = await import('../../src/queue/job-id.ts');
    const taken = jobBaseId(`fake:${event.eventId}`);
    await redis.hset(redisKeys(engine.config.redis.prefix).jobIndex, taken, 'build fake:some-other-event');
    const { jobs } = await engine.core.handle(event);
    expect(jobs).toEqual([`${taken}x`]);
  });
});

describe('a flood from one person', () => {
  it('runs the first commands of a window, answers the first one over once, drops the rest, and leaves others alone', async () => {
    const config = testConfig();
    config.bot.throttle = { commands: 20, per: 60_000 };
    engine = await startEngine({ config, worker: false });
    const flood = Array.from({ length: 1000 }, (_, i) =>
      message(i % 2 ? 'jobs' : 'build 2.6 kvm', { account: 'alice' }),
    );
    const outcomes: string[] = [];
    for (let i = 0; i < flood.length; i += 50) {
      const batch = await Promise.all(flood.slice(i, i + 50).map((m) => engine?.core.handle(m)));
      outcomes.push(...batch.map((h) => h?.outcome ?? 'none'));
    }
    // 980 dropped, and 9 of the 10 builds that ran refused because the first holds the image.
    expect(outcomes.filter((o) => o === 'refused')).toHaveLength(989);
    const texts = engine.chat.texts();
    const throttled = texts.filter((t) =>
      t.startsWith('Too many commands: alice gave more than 20 in 1 minute.'),
    );
    expect(throttled).toHaveLength(1);
    // 20 commands ran (one build queued, the other builds refused as busy, job lists), plus the one reply.
    expect(texts).toHaveLength(21);
    expect((await engine.core.jobs.list(50)).length).toBe(1);
    // bob is not held up by alice's flood.
    await engine.core.handle(message('jobs', { account: 'bob' }));
    expect(engine.chat.texts()).toHaveLength(22);
    const audit = await engine.core.audit.recent(100);
    expect(audit.filter((e) => e.kind === 'command.throttled')).toHaveLength(1);
    expect(audit.filter((e) => e.kind === 'command')).toHaveLength(21);
  });
});

describe('what guests and dangerous commands get', () => {
  it('tells a guest only that they may not, never the products, formats or clouds in config', async () => {
    engine = await startEngine({ worker: false });
    await engine.core.handle(message('build 2.6 vmwre', { account: 'mallory' }));
    await engine.core.handle(message('deploy 2.6 lxplus-clod', { account: 'mallory' }));
    for (const text of engine.chat.texts()) {
      expect(text).toMatch(/needs the operator role: your fake account mallory is not listed/);
      expect(text).not.toMatch(/vmware|lxplus|kvm|did you mean/);
    }
  });

  it('refuses a dangerous command the lifecycle gates would refuse at once, without asking anyone to approve it', async () => {
    engine = await startEngine({ worker: false });
    const revoke = await engine.core.handle(message('revoke 2.5 --reason "CVE"'));
    const production = await engine.core.handle(message('deploy 2.6 lxplus-cloud'));
    expect([revoke.outcome, production.outcome]).toEqual(['refused', 'refused']);
    expect(engine.chat.texts()).toEqual([
      'cernvm 2.5 has no images: there is nothing to revoke.',
      'cernvm 2.6 is not published: publish it first (publish cernvm 2.6).',
    ]);
    expect(engine.chat.sent.filter((m) => m.target.isDirect && m.target.room.startsWith('dm:'))).toEqual([]);
    await engine.core.handle(message('pending', { account: 'bob' }));
    expect(engine.chat.texts().at(-1)).toBe('No requests are waiting for approval.');
  });

  it('refuses to start with a policy for a command that does not exist', async () => {
    const config = testConfig((c) => {
      c.policy.commands.biuld = 'admin';
    });
    await expect(startEngine({ config, worker: false })).rejects.toThrow(
      'policy.commands.biuld: there is no command named biuld (did you mean build?)',
    );
  });
});
