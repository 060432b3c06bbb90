// Local mode as a person runs it: `node src/main.ts` with commands piped in, its own private
// redis-server, the in-process worker and the terminal chat. Also the worker process on its own.
import { type ChildProcess, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, repoRoot } from '../../src/app/config-load.ts';
import { createJobControl } from '../../src/queue/job-control.ts';
import { configuredFormats, openStageQueues } from '../../src/queue/stage-queues.ts';
import { connectRedis } from '../../src/redis/connect.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { startWorkerProcess } from '../helpers/chaos.ts';
import { demoConfigYaml } from '../helpers/demo-config.ts';
import { killPrivateRedis, startLocalVmops } from '../helpers/local-vmops.ts';
import { cleanPrefix, redisUrl, testPrefix } from '../helpers/redis.ts';
import { until } from '../helpers/until.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmops-local-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function start(args: string[], env: Record<string, string>): ChildProcess & { output(): string } {
  const local = startLocalVmops(args, env);
  cleanups.push(() => {
    local.abandon();
    // A vmops killed here leaves its private redis-server (its own process group) behind: stop it too.
    if (env.VMOPS_DATA_DIR) killPrivateRedis(env.VMOPS_DATA_DIR);
  });
  return Object.assign(local.child, { output: local.output });
}

async function finish(
  child: ChildProcess & { output(): string },
): Promise<{ code: number | null; output: string }> {
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  return { code: child.exitCode, output: child.output() };
}

function configFile(dir: string, edit: (yaml: string) => string = (y) => y): string {
  const file = join(dir, 'vmops.yaml');
  writeFileSync(file, edit(demoConfigYaml()));
  return file;
}

describe('local mode (npm start)', () => {
  it('answers piped commands, runs the build to the end, then stops its private Redis and exits 0', async () => {
    const dataDir = tempDir();
    const child = start(['--config', configFile(dataDir)], { VMOPS_DATA_DIR: dataDir });
    child.stdin?.end('help\n# a comment\nbild 2.6 kvm\nbuild 2.6 vmwre\nbuild 2.6 kvm\n');
    const { code, output } = await finish(child);
    expect(code).toBe(0);
    expect(output).toContain('alice> help\nCommands you may run');
    expect(output).toContain("unknown command 'bild': did you mean build?");
    expect(output).toContain("unknown format 'vmwre': did you mean vmware?");
    expect(output).not.toContain('a comment');
    expect(output).toMatch(/build cernvm 2\.6 kvm · job [a-z2-9]{8} · /);
    expect(output).toMatch(
      /✅ build cernvm 2\.6 kvm · job [a-z2-9]{8} · succeeded in \d+:\d\d · asked by alice\n/,
    );
    // Nothing is left running: the private redis-server is gone and the data directory is unlocked.
    // (redis-server removes its pid file when it shuts down cleanly).
    expect(existsSync(join(dataDir, 'redis', 'redis.pid'))).toBe(false);
    expect(existsSync(join(dataDir, 'redis', 'appendonlydir'))).toBe(true);
    expect(existsSync(join(dataDir, 'vmops.pid'))).toBe(false);
  });

  it('takes a piped build → test → publish to real images in the download area, with a test report', async () => {
    const dataDir = tempDir();
    // (the demo recipe; the real appliance runs the same commands in cernvm-appliance.test.ts)
    const child = start(['--config', configFile(dataDir)], { VMOPS_DATA_DIR: dataDir });
    child.stdin?.end(
      'build cernvm 2.6 kvm vmware\ntest 2.6 kvm vmware\npublish 2.6 kvm vmware\nimages 2.6\n',
    );
    const { code, output } = await finish(child);
    expect(code).toBe(0);
    expect(output).toMatch(
      /✅ test cernvm 2\.6 kvm · job \S+ · succeeded in \d+:\d\d · tests: 11 passed, 0 failed, 0 skipped/,
    );
    expect(output).toMatch(
      /✅ test cernvm 2\.6 vmware · job \S+ · succeeded in \d+:\d\d · tests: 16 passed, 0 failed, 0 skipped/,
    );
    expect(output).toMatch(/alice> images 2\.6\ncernvm 2\.6\n {2}kvm +published/);
    const downloads = join(dataDir, 'downloads', 'cernvm', '2.6');
    const info = (file: string) =>
      JSON.parse(execFileSync('qemu-img', ['info', '--output=json', file], { encoding: 'utf8' })) as {
        format: string;
      };
    expect(info(join(downloads, 'cernvm-2.6-kvm.qcow2')).format).toBe('qcow2');
    const ova = join(downloads, 'cernvm-2.6-vmware.ova');
    const members = execFileSync('tar', ['-tf', ova], { encoding: 'utf8' }).trim().split('\n');
    expect(members[0]).toMatch(/\.ovf$/);
    const vmdk = members.find((m) => m.endsWith('.vmdk')) ?? '';
    execFileSync('tar', ['-xf', ova, '-C', dataDir, vmdk]);
    expect(info(join(dataDir, vmdk)).format).toBe('vmdk');
    const index = readFileSync(join(dataDir, 'downloads', 'cernvm', 'index.json'), 'utf8');
    const sha = createHash('sha256')
      .update(readFileSync(join(downloads, 'cernvm-2.6-kvm.qcow2')))
      .digest('hex');
    expect(index).toContain(sha);
  });

  it('lets one terminal switch accounts with /as, and refuses a viewer', async () => {
    const dataDir = tempDir();
    const child = start(['--config', configFile(dataDir)], { VMOPS_DATA_DIR: dataDir });
    child.stdin?.end('/as carol\nbuild 2.6 kvm\nwhoami\n');
    const { code, output } = await finish(child);
    expect(code).toBe(0);
    expect(output).toContain('you are now speaking as carol');
    expect(output).toContain(
      'carol> build 2.6 kvm\nbuild needs the operator role: you (carol) have the roles viewer',
    );
    expect(output).not.toMatch(/job [a-z2-9]{8}/);
  });

  it('holds revoke for an approver: alice and mallory may not approve, bob does once, an unanswered request expires', async () => {
    const dataDir = tempDir();
    const config = configFile(dataDir, (yaml) =>
      yaml.replace('expireAfter: 30m', 'expireAfter: 4s').replace('escalateAfter: 10m', 'escalateAfter: 2s'),
    );
    const child = start(['--config', config], { VMOPS_DATA_DIR: dataDir });
    const type = async (line: string, expected: string | RegExp) => {
      const before = child.output().length;
      child.stdin?.write(`${line}\n`);
      const seen = () => {
        const added = child.output().slice(before);
        return typeof expected === 'string' ? added.includes(expected) : expected.test(added);
      };
      await until(seen, {
        what: () => `the terminal to show ${expected} after "${line}":\n${child.output().slice(before)}`,
        timeoutMs: 20_000,
      });
      return child.output().slice(before);
    };
    await type('build 2.5 kvm', /✅ build cernvm 2\.5 kvm · job \S+ · succeeded/);
    const asked = await type('revoke 2.5 --reason obsolete', /Request r-[a-z2-9]{6}\./);
    const id = /Request (r-[a-z2-9]{6})\./.exec(asked)?.[1] ?? '';
    expect(asked).toContain('revoke 2.5 --reason obsolete: revoke always waits for an approval.');
    // The approvers hear of it directly; the terminal shows whom a direct message is for.
    expect(asked).toMatch(
      /\(to (bob|dave)\) alice \(shell:alice, in shell:tty\) asks for your approval: revoke 2\.5/,
    );
    expect(await type(`approve ${id}`, 'approve needs the approver role')).toContain(
      'approve needs the approver role: you (alice) have the roles operator',
    );
    await type('/as mallory', 'now speaking as mallory');
    expect(await type(`approve ${id}`, 'guest')).toContain(
      'approve needs the approver role: your shell account mallory is not listed in the vmops config, so you are a guest.',
    );
    await type('/as bob', 'now speaking as bob');
    const approved = await type(`approve ${id}`, /✅ revoke cernvm 2\.5 · job \S+ · succeeded/);
    expect(approved).toContain(
      `✅ bob approved ${id}: revoke 2.5 --reason obsolete (asked by alice) runs as job`,
    );
    expect(await type(`approve ${id}`, 'cannot be answered again')).toMatch(
      new RegExp(
        `${id} \\(revoke 2\\.5 --reason obsolete\\) was already approved by bob at .*: it cannot be answered again\\.`,
      ),
    );
    expect(await type('images 2.5', 'cernvm 2.5')).toContain('revoked');

    await type('/as alice', 'now speaking as alice');
    await type('build 2.6 kvm', /✅ build cernvm 2\.6 kvm · job \S+ · succeeded/);
    const second = await type('revoke 2.6', /Request r-[a-z2-9]{6}\./);
    const late = /Request (r-[a-z2-9]{6})\./.exec(second)?.[1] ?? '';
    await until(
      () =>
        child
          .output()
          .includes(`⌛ ${late} (revoke 2.6, asked by alice) expired after 4 seconds without an answer`),
      { what: `${late} to expire`, timeoutMs: 20_000 },
    );
    await type('/as bob', 'now speaking as bob');
    expect(await type(`approve ${late}`, 'cannot be answered again')).toContain('expired at');
    child.stdin?.end('');
    const { code, output } = await finish(child);
    expect(code).toBe(0);
    expect(output.match(/✅ revoke cernvm/g)).toHaveLength(1);
  });

  it('on a pipe answers a login asked first (while its web console starts) with a link the console opens', async () => {
    const dataDir = tempDir();
    const child = start(['--config', configFile(dataDir)], { VMOPS_DATA_DIR: dataDir });
    child.stdin?.write('login\n');
    const link = await until(
      () => /(http:\/\/127\.0\.0\.1:\d+\/login\/[A-Za-z0-9_-]{43})/.exec(child.output())?.[1],
      {
        what: () => `a login link in:\n${child.output()}`,
      },
    );
    // The link names the console's real address (a busy 8080 falls back to a free port) and is valid.
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('alice');
    child.stdin?.end();
    const { code } = await finish(child);
    expect(code).toBe(0);
  });

  it('refuses a second instance on the same data directory, and keeps the first one working', async () => {
    const dataDir = tempDir();
    const config = configFile(dataDir);
    const first = start(['--config', config], { VMOPS_DATA_DIR: dataDir });
    first.stdin?.write('whoami\n');
    await until(() => first.output().includes('alice> whoami'), { what: 'the first instance to answer' });
    const second = await finish(start(['--config', config], { VMOPS_DATA_DIR: dataDir }));
    expect(second.code).toBe(1);
    expect(second.output).toContain(
      `another vmops (pid ${first.pid}) is running on the data directory ${dataDir}`,
    );
    first.stdin?.end('jobs\n');
    expect((await finish(first)).code).toBe(0);
  });

  it('stops at start-up on a bad config with the file, the key and what is wrong', async () => {
    const dir = tempDir();
    const file = configFile(dir, (yaml) =>
      yaml.replace('maxMessageAge', 'maxMesageAge').replace(/ {2}kvm: +\{/, '  kvm: { bogus: 1,'),
    );
    const bad = await finish(start(['--config', file], { VMOPS_DATA_DIR: dir }));
    expect(bad.code).toBe(78);
    expect(bad.output).toContain(`${file} is not a valid vmops configuration:`);
    expect(bad.output).toMatch(new RegExp(`${file}:\\d+: formats\\.kvm: Unrecognized key: "bogus"`));
    const check = await finish(start(['config', 'check', file], {}));
    expect(check.code).toBe(78);
    const good = await finish(start(['config', 'check', join(repoRoot, 'config', 'default.yaml')], {}));
    expect(good.code).toBe(0);
    expect(good.output).toMatch(/default\.yaml: valid \(2 product\(s\), 6 formats, 2 clouds, 5 people\)/);
  });
});

describe('worker process', () => {
  it('on SIGTERM stops taking jobs but lets the running one finish, then exits 0', async () => {
    const prefix = testPrefix();
    cleanups.push(() => cleanPrefix(prefix));
    const worker = startWorkerProcess({ redisUrl: redisUrl(), prefix, buildSteps: 1, tick: 0.3 });
    cleanups.push(() => worker.stop());
    const redis = connectRedis(redisUrl());
    const queues = openStageQueues({
      connection: redis,
      prefix,
      formats: configuredFormats(loadConfig().products),
      attempts: 1,
      keepFinished: 100,
    });
    cleanups.push(async () => {
      await queues.close();
      redis.disconnect();
    });
    const jobs = createJobControl({ redis, keys: redisKeys(prefix), queues, keepRecent: 100 });
    const principal = {
      id: 'alice',
      known: true,
      roles: ['operator' as const],
      account: { network: 'fake', id: 'alice' },
      displayName: 'alice',
    };
    const context = (eventId: string) => ({
      principal,
      message: {
        eventId,
        sender: { id: 'alice', displayName: 'alice', isBot: false, isSelf: false },
        target: { network: 'fake', room: 'r', isDirect: true },
        text: 'build 2.6 kvm',
        mentioned: false,
        sentAt: Date.now(),
      },
      commandText: 'build 2.6 kvm',
    });
    const [running = ''] = await jobs.submit(
      [{ stage: 'build', product: 'cernvm', version: '2.6', format: 'kvm' }],
      context('e1'),
    );
    await worker.logged('job started');
    worker.signal('SIGTERM');
    await worker.logged('stopping: waiting for running jobs');
    const [waiting = ''] = await jobs.submit(
      [{ stage: 'build', product: 'cernvm', version: '2.6', format: 'xen' }],
      context('e2'),
    );
    const code = await worker.exited;
    expect(code).toBe(0);
    expect((await jobs.get(running))?.state).toBe('succeeded');
    expect((await jobs.get(waiting))?.state).toBe('queued');
  });
});
