// Scale-out end to end: two bot instances and two workers on a Redis Sentinel set-up whose primary is
// killed mid-build, and on a three-node Redis Cluster (build, approvals, audit, subscriptions); and a
// worker process killed with SIGKILL under a job, whose job then ends visibly in the room. Every
// test starts its own redis-servers on free loopback ports and stops them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BotCore } from '../../src/app/bot-core.ts';
import { repoRoot } from '../../src/app/config-load.ts';
import { finalText, startsPerJob, startWorkerProcess } from '../helpers/chaos.ts';
import { type Engine, onCallNow, startEngine, testConfig } from '../helpers/engine.ts';
import { FakeChat, message, type SentMessage } from '../helpers/fake-chat.ts';
import { cleanPrefix, redisUrl, testPrefix } from '../helpers/redis.ts';
import { startCluster, startSentinelSetup } from '../helpers/redis-topology.ts';
import { until } from '../helpers/until.ts';

const undo: (() => Promise<unknown> | unknown)[] = [];
let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
  for (const step of undo.splice(0).reverse()) await step();
});

const jobIn = (m: SentMessage) => /job ([a-z0-9-]+)/.exec(m.versions[0]?.text ?? '')?.[1];

/** Two bot instances in the same rooms: every chat event reaches both, as on a real network. */
async function twoBots(e: Engine) {
  const second = await e.addBot(e.chat);
  const bots: BotCore[] = [e.core, second.core];
  return async function say(text: string, options: Parameters<typeof message>[1] = {}) {
    const before = e.chat.sent.length;
    const event = message(text, options);
    const results = await Promise.all(bots.map((bot) => bot.handle({ ...event })));
    const replies = e.chat.sent.slice(before).filter((m) => m.target.room === event.target.room);
    return { jobs: results.flatMap((r) => r.jobs), replies: replies.map(finalText) };
  };
}

describe('Redis Sentinel', () => {
  it('carries on through a failover during a build: the final state arrives once, and a later command runs once', async () => {
    const sentinel = await startSentinelSetup();
    undo.push(() => sentinel.stop());
    const config = testConfig((c) => {
      for (const step of c.products.cernvm?.stages.build?.steps ?? []) step.env = { VMOPS_DEMO_TICK: '0.4' };
    });
    engine = await startEngine({
      config,
      redis: { sentinel: { name: sentinel.name, sentinels: sentinel.sentinels } },
      workers: 2,
    });
    const say = await twoBots(engine);
    const chat = engine.chat;

    const build = await say('build 2.6 kvm');
    expect(build.jobs).toHaveLength(1);
    const [kvm = ''] = build.jobs;
    await chat.waitFor((m) => jobIn(m) === kvm && /step 1\/3/.test(finalText(m)));
    const before = await sentinel.primaryPort();
    await sentinel.primary.kill();
    await until(async () => (await sentinel.primaryPort()) !== before, {
      what: 'the sentinels to promote the replica',
      timeoutMs: 30_000,
    });
    expect(await sentinel.primaryPort()).toBe(sentinel.replica.port);

    const status = await chat.waitFor((m) => jobIn(m) === kvm && finalText(m).startsWith('✅'), 40_000);
    expect(finalText(status)).toMatch(/^✅ build cernvm 2\.6 kvm · job .* · succeeded in/);

    // After the failover: a command (and its redelivery) runs once, on the new primary.
    const after = await say('build 2.6 xen');
    expect(after.jobs).toHaveLength(1);
    await chat.waitFor((m) => jobIn(m) === after.jobs[0] && finalText(m).startsWith('✅'), 20_000);

    expect(chat.sent.map((m) => jobIn(m))).toEqual([kvm, after.jobs[0]]);
    expect(await startsPerJob(engine.core.audit)).toEqual(
      new Map([
        [kvm, 1],
        [after.jobs[0], 1],
      ]),
    );
    const jobs = await say('jobs');
    expect(jobs.replies).toHaveLength(1);
    expect(jobs.replies[0]?.match(/build cernvm 2\.6/g)).toHaveLength(2);
  }, 120_000);
});

describe('Redis Cluster', () => {
  it('runs the whole flow on three nodes: builds, approvals, audit and subscriptions', async () => {
    const cluster = await startCluster();
    undo.push(() => cluster.stop());
    const config = testConfig((c) => {
      c.redis.prefix = `{${testPrefix()}}`;
      onCallNow(c, ['bob', 'dave']);
    });
    engine = await startEngine({ config, redis: { cluster: { nodes: cluster.nodes } }, workers: 2 });
    const say = await twoBots(engine);
    const chat = engine.chat;
    const ops = { target: { network: 'fake', room: 'ops', isDirect: false }, mentioned: true };

    expect((await say('subscribe built revoked', ops)).replies).toEqual([
      'This room is now subscribed to: built, revoked.',
    ]);
    const build = await say('build 2.6 kvm vmware');
    expect(build.jobs).toHaveLength(2);
    for (const job of build.jobs) {
      await chat.waitFor((m) => jobIn(m) === job && finalText(m).startsWith('✅'), 20_000);
    }
    const inOps = () => chat.sent.filter((m) => m.target.room === 'ops').map(finalText);
    await until(() => inOps().filter((t) => t.startsWith('📦')).length === 2, {
      what: 'two built announcements in ops',
    });

    // An approval: its request, answer and expiry are Lua scripts over several keys (one slot).
    const asked = await say('revoke 2.6 --reason "test on a cluster"');
    const id = /Request (r-[a-z0-9]+)\./.exec(asked.replies.join('\n'))?.[1] ?? '';
    expect(id).not.toBe('');
    expect((await say(`approve ${id}`, { account: 'alice' })).replies.join('\n')).toMatch(
      /needs the approver role/,
    );
    const approved = await say(`approve ${id}`, { account: 'bob' });
    const revokeJob = /runs as job (\w+)/.exec(approved.replies.join('\n'))?.[1] ?? '';
    expect(revokeJob).not.toBe('');
    await chat.waitFor((m) => jobIn(m) === revokeJob && finalText(m).startsWith('✅'), 20_000);
    const announced = () => inOps().filter((t) => !t.startsWith('This room'));
    await until(() => announced().length >= 3, { what: 'three announcements in ops' });
    expect(announced()).toEqual([
      expect.stringMatching(/^📦 cernvm 2\.6 (kvm|vmware) built/),
      expect.stringMatching(/^📦 cernvm 2\.6 (kvm|vmware) built/),
      expect.stringMatching(/revoked/),
    ]);

    const verdict = await engine.core.audit.verify();
    expect(verdict).toMatchObject({ ok: true }); // on failure, shows which entry broke the chain
    expect(verdict.checked).toBeGreaterThan(5);
    const starts = await startsPerJob(engine.core.audit);
    expect([...starts.values()]).toEqual([1, 1, 1]);
    const images = await say('images 2.6');
    expect(images.replies.join('\n')).toContain('revoked');
  }, 120_000);

  it('refuses a prefix without a hash tag, and hash-tags the default prefix', async () => {
    const { parseConfig } = await import('../../src/app/config-load.ts');
    const base = readFileSync(join(repoRoot, 'config', 'default.yaml'), 'utf8');
    const withCluster = (prefix: string) =>
      base.replace(/prefix: vmops\n/, `${prefix}cluster: { nodes: ["127.0.0.1:7000"] }\n`);
    expect(() => parseConfig(withCluster('prefix: vmops\n  '), 'c.yaml', {})).toThrow(
      /redis\.prefix: "vmops" has no hash tag: .* write it like \{vmops\}/,
    );
    expect(parseConfig(withCluster(''), 'c.yaml', {}).redis.prefix).toBe('{vmops}');
  });
});

describe('a worker that vanishes', () => {
  /** A worker process on the run's Redis, with a slow demo build step and a short worker timeout. */
  function workerProcess(prefix: string, attempts: number) {
    const worker = startWorkerProcess({
      redisUrl: redisUrl(),
      prefix,
      buildSteps: 1,
      tick: 0.5,
      extraYaml: `jobs:\n  attempts: ${attempts}\n  workerTimeout: 2s\n`,
      args: ['--formats', 'kvm'],
    });
    undo.push(() => worker.stop());
    return worker;
  }

  async function killedMidJob(attempts: number) {
    const config = testConfig((c) => {
      c.jobs.attempts = attempts;
      c.jobs.workerTimeout = 2000;
    });
    undo.push(() => cleanPrefix(config.redis.prefix));
    engine = await startEngine({ config, worker: false, chat: new FakeChat() });
    const first = workerProcess(config.redis.prefix, attempts);
    await first.logged('worker ready');
    const { jobs } = await engine.core.handle(message('build 2.6 kvm'));
    const [job = ''] = jobs;
    await first.logged('job started');
    const pid = /"name":"[^"]*-(\d+)"/.exec(first.output())?.[1];
    first.signal('SIGKILL');
    await first.exited;
    // Another worker for the same format notices the lapsed lock and ends (or reruns) the job.
    const second = workerProcess(config.redis.prefix, attempts);
    await second.logged('worker ready');
    const status = await engine.chat.waitFor(
      (m) => jobIn(m) === job && /^(✅|❌)/.test(finalText(m)),
      30_000,
    );
    return { status, pid, second };
  }

  it('fails its job visibly, naming the worker, when jobs.attempts allows no second run', async () => {
    const { status, pid, second } = await killedMidJob(1);
    expect(finalText(status)).toMatch(
      new RegExp(
        `^❌ build cernvm 2\\.6 kvm · job .* · failed after .*its worker [^ ]*-${pid} stopped answering while it ran \\(killed, hung or cut off from Redis\\), and jobs\\.attempts allows no further run`,
      ),
    );
    expect(second.output()).not.toContain('"msg":"job started"');
    expect(engine?.chat.sent).toHaveLength(1);
  }, 60_000);

  it('runs its job again on another worker while jobs.attempts allows', async () => {
    const { status, second } = await killedMidJob(2);
    expect(finalText(status)).toMatch(/^✅ build cernvm 2\.6 kvm · job .* · succeeded in/);
    expect(second.output()).toContain('"msg":"job started"');
    expect(engine?.chat.sent).toHaveLength(1);
  }, 60_000);
});
