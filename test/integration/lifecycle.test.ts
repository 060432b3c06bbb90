// The image lifecycle through the bot with the real cernvm recipe: build → test → publish → deploy →
// update → revoke, the policy gates in between, test reports, one job per image, and workers that
// can only make some formats.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Engine, realConfig, sayAndWait, startEngine, testConfig } from '../helpers/engine.ts';
import { message } from '../helpers/fake-chat.ts';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

/** Types a command as alice (or someone else) and waits for the jobs it started to end; returns the replies. */
const say = (text: string, account = 'alice') => sayAndWait(engine, text, account);

describe('image lifecycle', () => {
  it('builds, tests, publishes, deploys and updates a real image, and the catalog shows each step', async () => {
    engine = await startEngine({ config: realConfig() });
    expect((await say('build 2.6 kvm')).reply).toMatch(/^✅ build cernvm 2\.6 kvm · job \w+ · succeeded/);
    const test = await say('test 2.6 kvm');
    expect(test.reply).toMatch(
      /^✅ test cernvm 2\.6 kvm · job \w+ · succeeded in \d+:\d\d · tests: 11 passed, 0 failed, 0 skipped/,
    );
    expect((await say('publish 2.6 kvm')).reply).toMatch(/^✅ publish/);
    expect((await say('deploy 2.6 local')).reply).toMatch(/^✅ deploy cernvm 2\.6 local/);
    expect((await say('update 2.6')).reply).toMatch(/^✅ update cernvm 2\.6/);

    const images = (await say('images 2.6')).reply;
    expect(images).toMatch(/^cernvm 2\.6 · deployed on local · 1 update\n {2}kvm +published/);
    expect(images).toMatch(/cernvm-2\.6-kvm\.qcow2 +\d\.\d MB +sha256 [0-9a-f]{16}…/);
    expect(images).toContain(`tests: 11 passed, 0 failed, 0 skipped · report ${test.jobs[0]}`);
    expect((await say('images')).reply).toBe('cernvm 2.6 · kvm published · deployed on local · 1 update');

    const index = JSON.parse(readFileSync(join(engine.dataDir, 'downloads', 'cernvm', 'index.json'), 'utf8'));
    expect(JSON.stringify(index)).toContain('cernvm-2.6-kvm.qcow2');
    expect(existsSync(join(engine.dataDir, 'clouds', 'local', 'cernvm-2.6'))).toBe(true);

    const report = (await say(`report ${test.jobs[0]}`)).reply;
    expect(report).toMatch(
      new RegExp(`^Test report of ${test.jobs[0]} \\(cernvm 2\\.6 kvm\\):\\n.*11 passed`),
    );
    expect((await say(`status ${test.jobs[0]}`)).reply).toContain(
      `tests: 11 passed, 0 failed, 0 skipped · report ${test.jobs[0]} for the whole report`,
    );
    // Succeeded jobs leave no working directory behind; what they made is in images/ and downloads/.
    expect(existsSync(join(engine.dataDir, 'work', test.jobs[0] ?? ''))).toBe(false);
  });

  it('refuses stages out of order, saying what to do first', async () => {
    engine = await startEngine({ config: realConfig() });
    expect((await say('test 2.6 kvm')).reply).toBe(
      'cernvm 2.6 kvm has not been built: build it first (build cernvm 2.6 kvm).',
    );
    expect((await say('publish 2.6 kvm')).reply).toBe(
      'cernvm 2.6 kvm has not passed its tests (it has not been built): test it first (test cernvm 2.6 kvm).',
    );
    expect((await say('deploy 2.6 local')).reply).toBe(
      'cernvm 2.6 is not published: publish it first (publish cernvm 2.6).',
    );
    await say('build 2.6 kvm');
    expect((await say('publish 2.6 kvm')).reply).toBe(
      'cernvm 2.6 kvm has not passed its tests (it is built but not tested): test it first (test cernvm 2.6 kvm).',
    );
    expect((await say('report nosuchjob')).reply).toBe("no job 'nosuchjob': type jobs to see recent jobs.");
  });

  it('reports a failing test with its first failures, keeps the image unpublishable, and shows the report', async () => {
    engine = await startEngine({
      config: realConfig((c) => {
        for (const step of c.products.cernvm?.stages.test?.steps ?? [])
          step.env = { VMOPS_DEMO_CORRUPT: '1' };
      }),
    });
    await say('build 2.6 kvm');
    const test = await say('test 2.6 kvm');
    expect(test.reply).toMatch(
      /^❌ test cernvm 2\.6 kvm · job \w+ · failed after .* · tests: \d+ passed, [1-9]\d* failed, \d+ skipped — failed: [^·]*sha256/,
    );
    expect((await say('publish 2.6 kvm')).reply).toMatch(
      /has not passed its tests \(its last build or test failed\)/,
    );
    const report = (await say(`report ${test.jobs[0]}`)).reply;
    expect(report).toMatch(/failed/);
    expect(report.split('\n').length).toBeGreaterThan(2);
  });

  it('ends a test job whose steps succeed but whose report has failed tests ❌, in the room and in status', async () => {
    engine = await startEngine({
      config: testConfig((c) => {
        const product = c.products.cernvm;
        if (product)
          product.stages.test = {
            steps: [{ name: 'check', run: ['test/fixtures/steps/failing-report.sh'] }],
          };
      }),
    });
    await say('build 2.6 kvm');
    const test = await say('test 2.6 kvm');
    expect(test.reply).toMatch(
      /^❌ test cernvm 2\.6 kvm · job \w+ · failed after .*: the tests failed: tests: 1 passed, 1 failed, 0 skipped — failed: the kernel is signed/,
    );
    const status = (await say(`status ${test.jobs[0]}`)).reply;
    expect(status).toMatch(/ {2}test cernvm 2\.6 kvm {2}failed/);
    expect((await say('images 2.6')).reply).toMatch(/kvm +failed/);
  });

  it('runs one job per image at a time, names the job that holds it, and never rebuilds a published image', async () => {
    engine = await startEngine({ config: realConfig() });
    const first = await engine.core.handle(message('build 2.6 kvm'));
    // Its status message is out before the next command (posts are queued, not awaited, by handle).
    await Promise.all(first.jobs.map((id) => engine?.core.notifier.posted(id)));
    const second = await say('build 2.6 kvm');
    expect(second.jobs).toEqual([]);
    expect(second.reply).toMatch(
      new RegExp(
        `^cernvm 2\\.6 kvm is busy with job ${first.jobs[0]} \\(build, (queued|running)\\): wait for it to end, or cancel it`,
      ),
    );
    await engine.core.notifier.whenSettled(first.jobs);
    // Once it has ended, the image is free again.
    expect((await say('build 2.6 kvm')).reply).toMatch(/^✅ build/);
    // A published image is not rebuilt under the same version.
    await say('test 2.6 kvm');
    await say('publish 2.6 kvm');
    expect((await say('build 2.6 kvm')).reply).toBe(
      'cernvm 2.6 kvm is published, and a published image is not rebuilt: build a new version instead.',
    );
  });

  it('refuses at once a format no live worker can make, and lists the workers', async () => {
    engine = await startEngine({ config: realConfig(), workerFormats: ['kvm'] });
    const refused = await say('build 2.6 vmware');
    expect(refused.jobs).toEqual([]);
    expect(refused.reply).toBe(
      'no live worker can build vmware right now (live workers: test-worker (build, test, publish, deploy, update, revoke; kvm)): start one with npm start -- worker --stages build --formats vmware. Nothing was queued.',
    );
    expect((await say('agents')).reply).toMatch(
      /^Live workers \(1\):\ntest-worker on localhost · stages build, test, publish, deploy, update, revoke · formats kvm · 0 running · up \d+:\d\d$/,
    );
    expect((await say('build 2.6 kvm')).reply).toMatch(/^✅/);
  });

  it('revokes a version everywhere: catalog, downloads, clouds; it cannot be published again', async () => {
    engine = await startEngine({ config: realConfig() });
    for (const line of ['build 2.5 kvm', 'test 2.5 kvm', 'publish 2.5 kvm', 'deploy 2.5 local'])
      await say(line);
    // revoke needs an approval in chat; the stage itself is what is tested here.
    const [revoke = ''] = await engine.core.jobs.submit(
      [{ stage: 'revoke', product: 'cernvm', version: '2.5', params: { reason: 'CVE-2026-0001' } }],
      {
        principal: {
          id: 'bob',
          known: true,
          roles: ['operator', 'approver'],
          account: { network: 'fake', id: 'bob' },
          displayName: 'bob',
        },
        message: message('revoke 2.5', { account: 'bob' }),
        commandText: 'revoke 2.5',
      },
    );
    await engine.core.notifier.whenSettled([revoke]);
    expect((await engine.core.jobs.get(revoke))?.state).toBe('succeeded');
    expect((await say('images')).reply).toMatch(
      /^cernvm 2\.5 · revoked \d{4}-\d\d-\d\d \d\d:\d\d by bob: CVE-2026-0001$/,
    );
    const revocations = JSON.parse(
      readFileSync(join(engine.dataDir, 'downloads', 'cernvm', 'revocations.json'), 'utf8'),
    );
    expect(JSON.stringify(revocations)).toContain('CVE-2026-0001');
    expect(existsSync(join(engine.dataDir, 'downloads', 'cernvm', '2.5'))).toBe(false);
    expect(existsSync(join(engine.dataDir, 'clouds', 'local', 'cernvm-2.5'))).toBe(false);
    expect((await say('publish 2.5 kvm')).reply).toBe(
      'cernvm 2.5 was revoked (CVE-2026-0001): it cannot be published again.',
    );
  });
});
