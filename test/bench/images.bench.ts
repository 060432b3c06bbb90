// Benchmark: the real cernvm appliance per format. Runs the recipe's build and test steps as the worker
// does (runStage, no Redis) for version 2.6 of the default config, and prints per format the build time,
// the boot-test time, and the bytes of the format's file against the raw disk (the compression ratio).
// The first build may collect the packages (the rootfs cache is shared with the worker); the others
// reuse them, so build time is "seconds plus the conversion".
//   npm run bench   (or: VMOPS_BENCH_FORMATS="kvm vmware" node test/bench/images.bench.ts)
// Needs root and the Debian packages of scripts/ensure-setup.mjs; boots run under TCG when KVM does not work.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, repoRoot } from '../../src/app/config-load.ts';
import { packageSetEnvironment } from '../../src/catalog/package-set.ts';
import { runStage } from '../../src/worker/run-stage.ts';

const VERSION = '2.6';
const formats = (process.env.VMOPS_BENCH_FORMATS ?? 'kvm vmware virtualbox xen hyperv ec2')
  .split(/\s+/)
  .filter(Boolean);
const config = loadConfig();
const product = config.products.cernvm;
if (!product) throw new Error('the config has no cernvm product');
const data = mkdtempSync(join(tmpdir(), 'vmops-images-bench-'));
const EXT: Record<string, string> = {
  kvm: 'qcow2',
  vmware: 'ova',
  virtualbox: 'vdi',
  xen: 'raw',
  hyperv: 'vhdx',
  ec2: 'raw',
};

async function stage(name: 'build' | 'test', format: string): Promise<number> {
  const steps = product?.stages[name]?.steps;
  if (!steps) throw new Error(`cernvm has no ${name} steps`);
  const workdir = join(data, 'work', `${name}-${format}`);
  mkdirSync(workdir, { recursive: true });
  const started = performance.now();
  await runStage({
    steps,
    params: {
      VMOPS_JOB_ID: `bench-${name}-${format}`,
      VMOPS_STAGE: name,
      VMOPS_PRODUCT: 'cernvm',
      VMOPS_VERSION: VERSION,
      VMOPS_FORMAT: format,
      VMOPS_REQUESTED_BY: 'bench',
      VMOPS_WORKDIR: workdir,
      VMOPS_DATA_DIR: data,
      VMOPS_IMAGES_DIR: join(data, 'images'),
      VMOPS_DOWNLOADS_DIR: join(data, 'downloads'),
      VMOPS_CLOUDS_ROOT: join(data, 'clouds'),
      ...packageSetEnvironment(product, VERSION),
    },
    cwd: workdir,
    repoRoot,
    defaultTimeoutMs: 30 * 60_000,
  });
  return (performance.now() - started) / 1000;
}

try {
  const rows: string[] = [];
  for (const format of formats) {
    const build = await stage('build', format);
    // A format whose boot test fails is reported with the report's failures, and the others still run.
    const test = await stage('test', format).catch((error: unknown) => {
      const report = join(data, 'work', `test-${format}`, 'boot.tap');
      const failures = existsSync(report) ? readFileSync(report, 'utf8').trimEnd().split('\n') : [];
      console.log(`  ${format}: the boot test failed: ${String(error)}\n    ${failures.join('\n    ')}`);
      return Number.NaN;
    });
    const dir = join(data, 'images', 'cernvm', VERSION, format);
    const raw = (JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8')) as { rawBytes: number }).rawBytes;
    const bytes = statSync(join(dir, `cernvm-${VERSION}-${format}.${EXT[format]}`)).blocks * 512;
    rows.push(
      `  ${format.padEnd(11)} build ${build.toFixed(1).padStart(6)} s   boot test ${Number.isNaN(test) ? 'FAILED'.padStart(6) : test.toFixed(1).padStart(6)} s   ` +
        `${(bytes / 1048576).toFixed(0).padStart(5)} MiB on disk of ${(raw / 1048576).toFixed(0)} MiB raw   ratio ${(bytes / raw).toFixed(2)}`,
    );
    console.log(rows.at(-1));
  }
  console.log(`images: cernvm ${VERSION}, per format (bytes: allocated size of the file / raw disk size)`);
  for (const row of rows) console.log(row);
} finally {
  rmSync(data, { recursive: true, force: true });
}
