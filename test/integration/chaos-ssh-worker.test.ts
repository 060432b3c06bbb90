// Chaos: a `node src/main.ts worker` process SIGKILLed while its step runs on an SSH build host (the
// real OpenSSH server on loopback). sshd sends no signal to a session without a terminal, so without
// the remote watchdog of run-step-ssh.ts the step (and its child) would run on for ever on the host,
// holding one of its session slots. Here it is gone within seconds, and the job ends as worker_lost
// by the existing rules: another worker notices the lapsed lock and, with jobs.attempts 1, fails it
// visibly, naming the dead worker.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/app/config-load.ts';
import { finalText, jobIn, startWorkerProcess } from '../helpers/chaos.ts';
import { type Engine, startEngine, testConfig } from '../helpers/engine.ts';
import { FakeChat, message } from '../helpers/fake-chat.ts';
import { cleanPrefix, redisUrl } from '../helpers/redis.ts';
import { startSshd, tagged } from '../helpers/sshd.ts';
import { until } from '../helpers/until.ts';

const undo: (() => Promise<unknown> | unknown)[] = [];
let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
  for (const step of undo.splice(0).reverse()) await step();
});

describe('a worker killed while its step runs on an SSH host', () => {
  it('leaves nothing running on the host, and its job ends worker_lost', async () => {
    const sshd = await startSshd();
    undo.push(() => sshd.stop());
    const workRoot = mkdtempSync(join(tmpdir(), 'vmops-ssh-chaos-'));
    undo.push(() => rmSync(workRoot, { recursive: true, force: true }));
    const config = testConfig((c) => {
      c.jobs.attempts = 1;
      c.jobs.workerTimeout = 2000;
    });
    undo.push(() => cleanPrefix(config.redis.prefix));
    engine = await startEngine({ config, worker: false, chat: new FakeChat() });
    const tag = randomUUID();
    const hosts = [
      'hosts:',
      '  build1:',
      '    host: 127.0.0.1',
      `    port: ${sshd.port}`,
      `    user: ${sshd.user}`,
      `    hostKeys: ["${sshd.hostKeyFingerprint}"]`,
      `    privateKeyFile: ${sshd.clientKeyFile}`,
      `    repoRoot: ${repoRoot}`,
      `    workRoot: ${workRoot}`,
    ].join('\n');
    const first = startWorkerProcess({
      redisUrl: redisUrl(),
      prefix: config.redis.prefix,
      buildStepsYaml: [
        `- { name: remote, run: [test/fixtures/steps/sleep-forever.sh], host: build1, env: { VMOPS_TEST_TAG: "${tag}" } }`,
      ],
      extraYaml: `jobs:\n  attempts: 1\n  workerTimeout: 2s\n${hosts}\n`,
      args: ['--formats', 'kvm'],
    });
    undo.push(() => first.stop());
    await first.logged('worker ready');
    const { jobs } = await engine.core.handle(message('build 2.6 kvm'));
    const [job = ''] = jobs;
    await until(() => tagged(tag).includes('sleep 600'), {
      what: () => `the remote step to start:\n${first.output()}`,
      timeoutMs: 20_000,
    });
    const pid = /"name":"[^"]*-(\d+)"/.exec(first.output())?.[1];
    first.signal('SIGKILL');
    await first.exited;
    // The watchdog looks once a second; TERM ends this step at once.
    await until(() => tagged(tag).length === 0, {
      what: () => `the remote step to be stopped: still running ${tagged(tag).join(', ')}`,
      timeoutMs: 8000,
    });

    const second = startWorkerProcess({
      redisUrl: redisUrl(),
      prefix: config.redis.prefix,
      buildSteps: 1,
      extraYaml: 'jobs:\n  attempts: 1\n  workerTimeout: 2s\n',
      args: ['--formats', 'kvm'],
    });
    undo.push(() => second.stop());
    const status = await engine.chat.waitFor(
      (m) => jobIn(m) === job && /^(✅|❌)/.test(finalText(m)),
      30_000,
    );
    expect(finalText(status)).toMatch(
      new RegExp(
        `^❌ build cernvm 2\\.6 kvm · job .* · failed after .*its worker [^ ]*-${pid} stopped answering`,
      ),
    );
    expect(second.output()).not.toContain('"msg":"job started"');
    expect(tagged(tag)).toEqual([]);
  }, 90_000);
});
