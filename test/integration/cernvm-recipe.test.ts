// The demo (stand-in) recipe, under the product name cernvm, as the worker runs it (runStage with the job's variables, no Redis): real
// mkfs.ext4 and qemu-img builds of every format, the test stage's TAP report, publishing into the
// download area, deploying to directory clouds, updates, revocation, and what it must refuse.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepConfig } from '../../config/schema.ts';
import { repoRoot } from '../../src/app/config-load.ts';
import { VmopsError } from '../../src/errors.ts';
import { parseTap } from '../../src/reports/parse-tap.ts';
import { runStage, type StageResult } from '../../src/worker/run-stage.ts';

const run = promisify(execFile);
const FORMATS = ['kvm', 'vmware', 'virtualbox', 'xen', 'hyperv', 'ec2'] as const;
const EXTENSION = { kvm: 'qcow2', vmware: 'ova', virtualbox: 'vdi', xen: 'raw', hyperv: 'vhdx', ec2: 'raw' };
const VERSION = '2.6';

const tmp = mkdtempSync(join(tmpdir(), 'vmops-cernvm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const data = join(tmp, 'data');
const images = join(data, 'images', 'cernvm', VERSION);
const downloads = join(data, 'downloads', 'cernvm');
const clouds = join(data, 'clouds');

interface StageRun {
  result: StageResult | undefined;
  error: VmopsError | undefined;
  workdir: string;
  log: string[];
  messages: string[];
}

let jobs = 0;
/** Runs recipes/demo/<stage>.sh as the one step of a stage, with the variables the worker sets. */
async function stage(
  name: string,
  vars: Record<string, string> = {},
  options: { dataDir?: string; env?: Record<string, string> } = {},
): Promise<StageRun> {
  const dataDir = options.dataDir ?? data;
  const job = `j${++jobs}`;
  const workdir = join(dataDir, 'work', job);
  mkdirSync(workdir, { recursive: true });
  const step: StepConfig = { name, run: [`recipes/demo/${name}.sh`], timeout: 60_000 };
  if (options.env) step.env = options.env;
  const log: string[] = [];
  const messages: string[] = [];
  let error: VmopsError | undefined;
  const result = await runStage({
    steps: [step],
    params: {
      VMOPS_JOB_ID: job,
      VMOPS_STAGE: name,
      VMOPS_PRODUCT: 'cernvm',
      VMOPS_VERSION: VERSION,
      VMOPS_REQUESTED_BY: 'alice',
      VMOPS_WORKDIR: workdir,
      VMOPS_DATA_DIR: dataDir,
      VMOPS_IMAGES_DIR: join(dataDir, 'images'),
      VMOPS_DOWNLOADS_DIR: join(dataDir, 'downloads'),
      VMOPS_CLOUDS_ROOT: join(dataDir, 'clouds'),
      ...vars,
    },
    cwd: workdir,
    repoRoot,
    defaultTimeoutMs: 60_000,
    onLog: (line) => log.push(line),
    onProgress: (p) => {
      if (p.message !== undefined && messages.at(-1) !== p.message) messages.push(p.message);
    },
  }).catch((caught: unknown) => {
    if (!(caught instanceof VmopsError)) throw caught;
    error = caught;
    return undefined;
  });
  return { result, error, workdir, log, messages };
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const artifact = (format: (typeof FORMATS)[number]) =>
  join(images, format, `cernvm-${VERSION}-${format}.${EXTENSION[format]}`);
async function qemuInfo(file: string) {
  const { stdout } = await run('qemu-img', ['info', '--output=json', file]);
  return JSON.parse(stdout);
}
/** The step's own message (stderr) when it failed. */
const stderr = (r: StageRun) => r.log.filter((line) => line.startsWith('! ')).join('\n');

describe('the cernvm recipe', () => {
  let builds: Record<string, StageRun> = {};
  beforeAll(async () => {
    const runs = await Promise.all(FORMATS.map((format) => stage('build', { VMOPS_FORMAT: format })));
    builds = Object.fromEntries(FORMATS.map((format, i) => [format, runs[i] as StageRun]));
  }, 60_000);

  it('builds every format with its checksums and build.json', () => {
    for (const format of FORMATS) {
      const build = builds[format] as StageRun;
      expect(build.error, stderr(build)).toBeUndefined();
      const file = artifact(format);
      expect(build.result?.artifacts).toEqual([file]);
      const name = `cernvm-${VERSION}-${format}.${EXTENSION[format]}`;
      expect(readFileSync(join(images, format, 'SHA256SUMS'), 'utf8')).toBe(`${sha256(file)}  ${name}\n`);
      expect(readJson(join(images, format, 'build.json'))).toMatchObject({
        product: 'cernvm',
        version: VERSION,
        format,
        files: [{ name, size: readFileSync(file).length, sha256: sha256(file) }],
        job: expect.stringMatching(/^j\d+$/),
        builtAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      expect(build.messages.at(-1)).toMatch(`built ${name}`);
      // Built under a temporary name and renamed: nothing else is left beside the formats.
      expect(readdirSync(images).sort()).toEqual([...FORMATS].sort());
    }
  });

  it('makes a qcow2 for kvm and an OVA with the .ovf first and a streamOptimized VMDK for vmware', async () => {
    const qcow2 = await qemuInfo(artifact('kvm'));
    expect(qcow2).toMatchObject({ format: 'qcow2', 'virtual-size': 64 * 1024 * 1024 });

    const ova = artifact('vmware');
    const { stdout: members } = await run('tar', ['-tf', ova]);
    const disk = `cernvm-${VERSION}-vmware-disk1.vmdk`;
    expect(members.trim().split('\n')).toEqual([
      `cernvm-${VERSION}-vmware.ovf`,
      `cernvm-${VERSION}-vmware.mf`,
      disk,
    ]);
    const unpacked = join(tmp, 'ova');
    mkdirSync(unpacked);
    await run('tar', ['-xf', ova, '-C', unpacked]);
    const vmdk = await qemuInfo(join(unpacked, disk));
    expect(vmdk.format).toBe('vmdk');
    expect(vmdk['format-specific']).toMatchObject({
      type: 'vmdk',
      data: { 'create-type': 'streamOptimized' },
    });
    const manifest = readFileSync(join(unpacked, `cernvm-${VERSION}-vmware.mf`), 'utf8');
    expect(manifest).toContain(`SHA256(${disk})= ${sha256(join(unpacked, disk))}\n`);
    expect(readFileSync(join(unpacked, `cernvm-${VERSION}-vmware.ovf`), 'utf8')).toContain(
      `<Version>${VERSION}</Version>`,
    );
  });

  it('passes the test stage for every format with a TAP report of only ok lines', async () => {
    const runs = await Promise.all(FORMATS.map((format) => stage('test', { VMOPS_FORMAT: format })));
    for (const [i, test] of runs.entries()) {
      expect(test.error, `${FORMATS[i]}: ${test.log.join('\n')}`).toBeUndefined();
      const file = join(test.workdir, 'report.tap');
      expect(test.result?.reports).toEqual([file]);
      const tap = readFileSync(file, 'utf8');
      const points = tap.split('\n').filter((line) => /^(not )?ok /.test(line));
      expect(points.length).toBeGreaterThanOrEqual(9);
      expect(points.filter((line) => !line.startsWith('ok '))).toEqual([]);
      const report = parseTap(tap);
      expect(report).toMatchObject({ total: points.length, failed: 0 });
      expect(tap).toContain(`VERSION="${VERSION}"`);
    }
    const vmware = readFileSync(join(runs[1]?.workdir ?? '', 'report.tap'), 'utf8');
    expect(vmware).toMatch(/^ok \d+ - OVA members in order/m);
    expect(vmware).toMatch(/^ok \d+ - VMDK create-type is streamOptimized$/m);
    const xen = readFileSync(join(runs[3]?.workdir ?? '', 'report.tap'), 'utf8');
    expect(xen).toMatch(/^ok \d+ - qemu-img check # SKIP /m);
  });

  it('fails the test stage with a not-ok line when the image is corrupted', async () => {
    const test = await stage('test', { VMOPS_FORMAT: 'kvm' }, { env: { VMOPS_DEMO_CORRUPT: '1' } });
    expect(test.error?.code).toBe('step_failed');
    expect(test.error?.detail?.exitCode).toBe(1);
    const report = parseTap(readFileSync(join(test.workdir, 'report.tap'), 'utf8'));
    expect(report.failed).toBeGreaterThan(0);
    expect(report.cases.find((c) => c.status === 'failed')).toMatchObject({
      name: `sha256 of cernvm-${VERSION}-kvm.qcow2 matches SHA256SUMS`,
      message: expect.stringMatching(/got [0-9a-f]{64}, want [0-9a-f]{64}/),
    });
    // The built image itself is untouched.
    expect(readFileSync(join(images, 'kvm', 'SHA256SUMS'), 'utf8')).toContain(sha256(artifact('kvm')));
  });

  it('publishes two formats at once into one index.json with checksums that match the files', async () => {
    const runs = await Promise.all(
      ['kvm', 'vmware'].map((format) => stage('publish', { VMOPS_FORMAT: format })),
    );
    for (const r of runs) expect(r.error, stderr(r)).toBeUndefined();
    const index = readJson(join(downloads, 'index.json'));
    const formats = index.versions[VERSION].formats;
    expect(Object.keys(formats).sort()).toEqual(['kvm', 'vmware']);
    for (const format of ['kvm', 'vmware']) {
      const [entry, ...rest] = formats[format].files;
      expect(rest).toEqual([]);
      const published = join(downloads, VERSION, entry.name);
      expect(entry.sha256).toBe(sha256(published));
      expect(entry.size).toBe(readFileSync(published).length);
      expect(formats[format].published).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    expect(readJson(join(downloads, 'revocations.json'))).toEqual({ revoked: [] });
    expect(readdirSync(downloads).sort()).toEqual(['.lock', VERSION, 'index.json', 'revocations.json']);
  });

  // (lxplus-cloud sits one level deeper, as a config path like `clouds/lxplus` may put it.)
  const CLOUDS = [
    { name: 'local-cloud', dir: 'local' },
    { name: 'lxplus-cloud', dir: join('clouds', 'lxplus') },
  ];

  it('deploys every published format to a directory cloud', async () => {
    for (const cloud of CLOUDS) {
      const deploy = await stage('deploy', {
        VMOPS_CLOUD: cloud.name,
        VMOPS_CLOUD_PATH: join(clouds, cloud.dir),
      });
      expect(deploy.error, stderr(deploy)).toBeUndefined();
      const target = join(clouds, cloud.dir, `cernvm-${VERSION}`);
      expect(readdirSync(target).sort()).toEqual([
        `cernvm-${VERSION}-kvm.qcow2`,
        `cernvm-${VERSION}-vmware.ova`,
        'deployment.json',
      ]);
      expect(sha256(join(target, `cernvm-${VERSION}-kvm.qcow2`))).toBe(sha256(artifact('kvm')));
      expect(readJson(join(target, 'deployment.json'))).toMatchObject({
        product: 'cernvm',
        version: VERSION,
        cloud: cloud.name,
        by: 'alice',
        formats: {
          kvm: [{ sha256: sha256(artifact('kvm')) }],
          vmware: [{ sha256: sha256(artifact('vmware')) }],
        },
      });
      expect(deploy.messages.at(-1)).toBe(`deployed cernvm ${VERSION} (kvm vmware) to cloud ${cloud.name}`);
    }
  });

  it('numbers the updates of a published version and refuses an unpublished one', async () => {
    for (const expected of [1, 2]) {
      const update = await stage('update');
      expect(update.error, stderr(update)).toBeUndefined();
      expect(update.messages.at(-1)).toBe(`published update ${expected} for cernvm ${VERSION}`);
    }
    const updates = readJson(join(downloads, VERSION, 'updates.json'));
    expect(updates.latest).toBe(2);
    expect(updates.updates.map((u: { number: number }) => u.number)).toEqual([1, 2]);

    const old = await stage('update', { VMOPS_VERSION: '2.5' });
    expect(old.error?.detail?.exitCode).toBe(2);
    expect(stderr(old)).toContain('cernvm 2.5 is not published');
  });

  it('revokes: unpublishes, undeploys from every cloud and records the reason', async () => {
    const reason = 'CVE-2026-0001 in the kernel';
    const leftover = join(clouds, 'local', `.cernvm-${VERSION}.tmp.999`); // from a deploy that was killed
    mkdirSync(leftover);
    const revoke = await stage('revoke', { VMOPS_PARAM_REASON: reason, VMOPS_REQUESTED_BY: 'bob' });
    expect(revoke.error, stderr(revoke)).toBeUndefined();
    expect(existsSync(join(downloads, VERSION))).toBe(false);
    for (const cloud of CLOUDS) expect(readdirSync(join(clouds, cloud.dir))).toEqual([]);
    expect(readJson(join(downloads, 'index.json')).versions).toEqual({});
    expect(readJson(join(downloads, 'revocations.json')).revoked).toEqual([
      { version: VERSION, reason, revokedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), by: 'bob' },
    ]);
    expect(revoke.messages).toEqual(
      expect.arrayContaining([
        `undeployed cernvm ${VERSION} from cloud local-cloud (directory local)`,
        `undeployed cernvm ${VERSION} from cloud lxplus-cloud (directory clouds/lxplus)`,
      ]),
    );
    expect(revoke.messages.at(-1)).toBe(`revoked cernvm ${VERSION}: unpublished, undeployed from 2 cloud(s)`);
  });

  it('refuses to deploy, update or publish a revoked version, with a clear message', async () => {
    const deploy = await stage('deploy', {
      VMOPS_CLOUD: 'local-cloud',
      VMOPS_CLOUD_PATH: join(clouds, 'local'),
    });
    expect(deploy.error?.code).toBe('step_failed');
    expect(deploy.error?.detail?.exitCode).toBe(2);
    expect(stderr(deploy)).toContain(`cernvm ${VERSION} is revoked`);
    expect(stderr(deploy)).toContain('refusing to deploy it');
    expect(existsSync(join(clouds, 'local', `cernvm-${VERSION}`))).toBe(false);

    const update = await stage('update');
    expect(stderr(update)).toContain(`cernvm ${VERSION} is revoked`);
    const publish = await stage('publish', { VMOPS_FORMAT: 'kvm' });
    expect(publish.error?.detail?.exitCode).toBe(2);
    expect(stderr(publish)).toContain('refusing to publish it again');
    expect(existsSync(join(downloads, VERSION))).toBe(false);
  });

  it('refuses a malicious version or format in the environment and creates nothing', async () => {
    const dataDir = join(tmp, 'hostile');
    const marker = join(tmp, 'pwned');
    const cases = [
      { VMOPS_VERSION: `${VERSION}; touch ${marker}` },
      { VMOPS_VERSION: `$(touch ${marker})` },
      { VMOPS_VERSION: `${VERSION}\n2.7` },
      { VMOPS_VERSION: '../../2.6' },
      { VMOPS_FORMAT: '../kvm' },
      { VMOPS_FORMAT: 'kvm; touch x' },
    ];
    for (const vars of cases) {
      const build = await stage('build', { VMOPS_FORMAT: 'kvm', ...vars }, { dataDir });
      expect(build.error?.code, JSON.stringify(vars)).toBe('step_failed');
      expect(build.error?.detail?.exitCode).toBe(2);
      expect(stderr(build)).toMatch(/refusing (version|format) '/);
    }
    expect(existsSync(marker)).toBe(false);
    // Only the job workdirs this test made, all still empty.
    expect(readdirSync(dataDir)).toEqual(['work']);
    for (const workdir of readdirSync(join(dataDir, 'work'))) {
      expect(readdirSync(join(dataDir, 'work', workdir))).toEqual([]);
    }
  });
});
