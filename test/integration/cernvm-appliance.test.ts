// The real cernvm appliance through the bot, end to end: packages collected with mmdebstrap (cached on
// the build host in /var/cache/vmops/rootfs, or VMOPS_ROOTFS_CACHE, so a second run reuses them),
// self-booting disks, boot tests under QEMU (TCG here) with the in-guest TAP checks, publishing; a
// guest that cannot boot; package sets that do not resolve; `update` to a new revision.
// Needs root (mmdebstrap --mode=root) and the Debian packages scripts/ensure-setup.mjs installs.
// It runs in every `npm test`, after the rest and alone (vitest.config.ts). The recipe boots one TCG
// guest at a time (boot slots), so the two formats' boots queue instead of starving each other. Each run
// collects once for real (the update must fetch the newest packages), and the unknown-package build
// gets as far as installing the essential set before apt refuses it; everything else uses the cache.
// Measured with a warm cache on the 2-core machine while four other engineers ran their tests (load
// about 7): 25 minutes (527 s, 48 s, 182 s, 736 s); the timeouts below are generous for such a machine,
// where one collection took 6 minutes.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config-load.ts';
import { connectRedis } from '../../src/redis/connect.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { watchSerial } from '../../src/reports/serial-console.ts';
import { type Engine, sayAndWait, startEngine } from '../helpers/engine.ts';
import { redisUrl, testPrefix } from '../helpers/redis.ts';
import { startWebEngine, type WebEngine } from '../helpers/web-console.ts';

const MINUTE = 60_000;
const cacheDir = process.env.VMOPS_ROOTFS_CACHE ?? '/var/cache/vmops/rootfs';

let engine: Engine | undefined;
let web: WebEngine | undefined;
afterEach(async () => {
  if (web) await web.stop();
  else await engine?.stop();
  engine = undefined;
  web = undefined;
});

/** The default config with its real recipes (not the demo's), a fresh prefix, alice on the fake network. */
function applianceConfig(edit?: (config: ReturnType<typeof loadConfig>) => void) {
  const config = structuredClone(loadConfig());
  config.redis.prefix = testPrefix();
  for (const [name, person] of Object.entries(config.people)) person.accounts.fake = name;
  config.bot.throttle.commands = 100_000;
  edit?.(config);
  return config;
}

const say = (text: string, account = 'alice') => sayAndWait(engine, text, account);

/** The names and outcomes of every test in a job's stored report (`report` shows only failures). */
async function reportCases(job: string): Promise<string> {
  if (!engine) throw new Error('no engine');
  const redis = connectRedis(redisUrl());
  try {
    const raw = await redis.get(redisKeys(engine.config.redis.prefix).report(job));
    const report = JSON.parse(raw ?? '{"cases":[]}') as { cases: { name: string; status: string }[] };
    return report.cases.map((c) => `${c.status} ${c.name}`).join('\n');
  } finally {
    redis.disconnect();
  }
}

/** A job's log, as `log <job>` shows it. */
async function jobLog(job: string): Promise<string> {
  return (await say(`log ${job} --tail 200`)).reply;
}

/** Cache entries (collected root filesystems), without locks and temporary directories. */
function cacheEntries(): string[] {
  return existsSync(cacheDir)
    ? readdirSync(cacheDir).filter((n) => !n.startsWith('.') && !n.endsWith('.lock'))
    : [];
}

describe('the cernvm appliance', () => {
  it(
    'builds kvm and vmware from one collection, boots both in the test, publishes them, and the qcow2 boots alone to a login prompt',
    async () => {
      engine = await startEngine({ config: applianceConfig() });
      const build = await say('build cernvm 2.6 kvm vmware');
      expect(build.reply).toMatch(/✅ build cernvm 2\.6 kvm · job \S+ · succeeded/);
      expect(build.reply).toMatch(/✅ build cernvm 2\.6 vmware · job \S+ · succeeded/);
      // One after the other: a reply is read as what the room got after the command.
      const logs: string[] = [];
      for (const job of build.jobs) logs.push(await jobLog(job));
      expect(logs.map((l) => l.split('\n')[0])).toEqual(
        build.jobs.map((job) => expect.stringContaining(job)),
      );
      // One collection at most (none when the cache was warm); the other build reuses the verified rootfs.
      expect(logs.filter((l) => l.includes('rootfs cache miss')).length).toBeLessThanOrEqual(1);
      expect(logs.filter((l) => l.includes('rootfs cache hit')).length).toBeGreaterThanOrEqual(1);

      const test = await say('test 2.6 kvm vmware');
      expect(test.reply).toMatch(
        /✅ test cernvm 2\.6 kvm · job \S+ · succeeded in [\d:]+ · tests: \d+ passed, 0 failed/,
      );
      expect(test.reply).toMatch(
        /✅ test cernvm 2\.6 vmware · job \S+ · succeeded in [\d:]+ · tests: \d+ passed, 0 failed/,
      );
      const report = await reportCases(test.jobs[0] ?? '');
      for (const check of [
        'boots from its own disk',
        'in the guest: kernel',
        'in the guest: root filesystem mounted read-write',
        'in the guest: /etc/os-release is CernVM 2.6',
        'in the guest: installed packages match the published manifest',
        'in the guest: cloud-init finished',
        'in the guest: contextualization applied',
        'the guest powers off cleanly',
        'qemu-img check finds no errors',
      ])
        expect(report).toContain(`passed ${check}`);
      expect(report).not.toContain('failed ');
      expect(await reportCases(test.jobs[1] ?? '')).toContain('passed OVF descriptor is valid');

      expect((await say('publish 2.6 kvm vmware')).reply).toMatch(
        /✅ publish cernvm 2\.6 kvm[\s\S]*✅ publish/,
      );
      const images = (await say('images 2.6')).reply;
      expect(images).toMatch(/kvm +published job/);
      expect(images).toMatch(
        /\d+ packages · kernel \d+\.\d+\.\d+-\d+-cloud-amd64 · manifest cernvm-2\.6-kvm\.packages\.tsv/,
      );
      const downloads = join(engine.dataDir, 'downloads', 'cernvm');
      const index = JSON.parse(readFileSync(join(downloads, 'index.json'), 'utf8'));
      const kvm = index.versions['2.6'].formats.kvm;
      expect(kvm.kernel).toMatch(/-cloud-amd64$/);
      expect(kvm.files.map((f: { name: string }) => f.name)).toEqual([
        'cernvm-2.6-kvm.qcow2',
        'cernvm-2.6-kvm.packages.tsv',
      ]);
      const manifest = readFileSync(join(downloads, '2.6', 'cernvm-2.6-kvm.packages.tsv'), 'utf8');
      expect(manifest).toMatch(/^cloud-init\t\S+\tall$/m);
      expect(manifest.trim().split('\n')).toHaveLength(kvm.packages);

      // As anyone would start it: no kernel on the command line, no seed, the published file.
      const qemu = spawn(
        'qemu-system-x86_64',
        [
          '-nographic',
          '-m',
          '768',
          '-drive',
          `file=${join(downloads, '2.6', 'cernvm-2.6-kvm.qcow2')},snapshot=on`,
        ],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const boot = await watchSerial(qemu.stdout, { timeoutMs: 6 * MINUTE, stopAtLogin: true });
      qemu.kill('SIGKILL');
      expect(boot.console.state.login, boot.console.tail().join('\n')).toBe(true);
    },
    14 * MINUTE,
  );

  it(
    'fails the test of a guest that cannot boot (no kernel) with the console tail, and refuses to publish it',
    async () => {
      engine = await startEngine({
        config: applianceConfig((c) => {
          for (const step of c.products.cernvm?.stages.build?.steps ?? [])
            step.env = { VMOPS_CERNVM_OMIT_KERNEL: '1' };
        }),
      });
      expect((await say('build 2.6 kvm')).reply).toMatch(/✅ build cernvm 2\.6 kvm/);
      const test = await say('test 2.6 kvm');
      expect(test.reply).toMatch(
        /❌ test cernvm 2\.6 kvm · job \S+ · failed after .* · tests: \d+ passed, [1-9]\d* failed/,
      );
      const report = (await say(`report ${test.jobs[0]}`)).reply;
      expect(report).toContain('Loading /vmlinuz... failed');
      expect(report).toContain("serial console's last lines");
      expect((await say('publish 2.6 kvm')).reply).toMatch(/has not passed its tests/);
    },
    8 * MINUTE,
  );

  it(
    'fails a build whose package or suite does not exist with the resolver message, records nothing as built, caches nothing',
    async () => {
      engine = await startEngine({
        config: applianceConfig((c) => {
          const cernvm = c.products.cernvm;
          if (!cernvm) throw new Error('no cernvm product');
          cernvm.versions['2.7'] = { suite: 'bookworm', packages: ['vmops-no-such-package'], pins: {} };
          cernvm.versions['2.8'] = { suite: 'nosuchsuite', packages: [], pins: {} };
        }),
      });
      const before = cacheEntries();
      const pkg = await say('build 2.7 kvm');
      expect(pkg.reply).toMatch(
        /❌ build cernvm 2\.7 kvm · job \S+ · failed after .*Unable to locate package vmops-no-such-package/,
      );
      const suite = await say('build 2.8 kvm');
      expect(suite.reply).toMatch(/❌ build cernvm 2\.8 kvm · job \S+ · failed after .*nosuchsuite/);
      expect((await say('images 2.7')).reply).toMatch(/kvm +failed/);
      expect((await say('images')).reply).not.toMatch(/built/);
      expect(cacheEntries()).toEqual(before);
      expect(readdirSync(cacheDir).filter((n) => n.includes('.tmp.'))).toEqual([]);
      const noSet = await say('build 2.9 kvm');
      expect((await jobLog(noSet.jobs[0] ?? '')).toString()).toContain(
        'cernvm 2.9 has no package set: add products.cernvm.versions."2.9"',
      );
    },
    6 * MINUTE,
  );

  it(
    'updates a published 2.5 whose tzdata is pinned to an older version: r1 has the newer tzdata, says so, and is what the download area serves',
    async () => {
      web = await startWebEngine({ config: applianceConfig() });
      engine = web.engine;
      const pinned = engine.config.products.cernvm?.versions['2.5']?.pins.tzdata;
      expect(pinned).toBeDefined();
      expect((await say('build 2.5 kvm')).reply).toMatch(/✅ build cernvm 2\.5 kvm · job \S+ · succeeded/);
      expect((await say('test 2.5 kvm')).reply).toMatch(
        /✅ test cernvm 2\.5 kvm · job \S+ · succeeded in [\d:]+ · tests: \d+ passed, 0 failed/,
      );
      expect((await say('publish 2.5 kvm')).reply).toMatch(/✅ publish cernvm 2\.5 kvm/);
      const downloads = join(engine.dataDir, 'downloads', 'cernvm');
      const tzdata = (manifest: string) => /^tzdata\t(\S+)\t/m.exec(manifest)?.[1];
      // The pin reached apt: the first build has the older tzdata, though the mirror has a newer one.
      expect(tzdata(readFileSync(join(downloads, '2.5', 'cernvm-2.5-kvm.packages.tsv'), 'utf8'))).toBe(
        pinned,
      );

      const update = await say('update 2.5');
      expect(update.reply).toMatch(/✅ update cernvm 2\.5\b.* succeeded/);
      const changed = new RegExp(`tzdata ${regexLiteral(pinned ?? '')} → ([^\\s,]+)`).exec(update.reply);
      expect(changed, update.reply).not.toBeNull();
      const newer = changed?.[1] ?? '';
      expect(newer).not.toBe(pinned);

      const images = (await say('images 2.5')).reply;
      expect(images).toMatch(/kvm +published +r1 job/);
      expect(images).toContain(`tzdata ${pinned} → ${newer}`);

      const index = JSON.parse(readFileSync(join(downloads, 'index.json'), 'utf8'));
      const entry = index.versions['2.5'];
      expect(entry.revision).toBe(1);
      expect(entry.formats.kvm.files.map((f: { name: string }) => f.name)).toEqual([
        'cernvm-2.5-r1-kvm.qcow2',
        'cernvm-2.5-r1-kvm.packages.tsv',
      ]);
      expect(entry.revisions.map((r: { revision: number }) => r.revision)).toEqual([1]);
      expect(entry.revisions[0].changes).toContainEqual({ name: 'tzdata', from: pinned, to: newer });
      const notes = JSON.parse(readFileSync(join(downloads, '2.5', 'cernvm-2.5-r1.notes.json'), 'utf8'));
      expect(notes).toMatchObject({ product: 'cernvm', version: '2.5', revision: 1 });
      expect(notes.changes).toContainEqual({ name: 'tzdata', from: pinned, to: newer });

      // The download area serves r1: its files, with the newer tzdata; r0's image is gone from it.
      const served = (path: string) => fetch(`${web?.web.url}/downloads/cernvm/${path}`);
      expect(tzdata(await (await served('2.5/cernvm-2.5-r1-kvm.packages.tsv')).text())).toBe(newer);
      const qcow2 = await served('2.5/cernvm-2.5-r1-kvm.qcow2');
      expect(qcow2.status).toBe(200);
      const sha = entry.formats.kvm.files[0].sha256;
      expect(
        createHash('sha256')
          .update(Buffer.from(await qcow2.arrayBuffer()))
          .digest('hex'),
      ).toBe(sha);
      expect((await served('2.5/cernvm-2.5-kvm.qcow2')).status).toBe(404);
      expect((await (await served('2.5/SHA256SUMS')).text()).trim()).toContain(
        `${sha}  cernvm-2.5-r1-kvm.qcow2`,
      );
    },
    14 * MINUTE,
  );
});

/** A string as a literal inside a regular expression. */
function regexLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
