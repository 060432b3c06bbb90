// Chaos: SIGKILL of local mode's whole process group (`node src/main.ts`, its worker in-process; its
// private redis-server has a group of its own and survives, as it would), then a restart on the same
// data directory. What must hold (issue 16, failure-modes.md #3):
// - `images`, index.json and the download area agree after the restart, whether the publish step
//   outlived its worker and finished, or the next start stopped it;
// - no image stays `building` after its job ended; a job cut off in a build leaves `unknown`;
// - jobs that had been taken but never started a step run at the next start;
// - `status` counts attempts that ran a step (no "attempt 2" for a job that ran once).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/app/config-load.ts';
import { processStart, type RunRecord } from '../../src/worker/run-records.ts';
import { demoConfigYaml } from '../helpers/demo-config.ts';
import { killPrivateRedis, type LocalVmops, startLocalVmops } from '../helpers/local-vmops.ts';
import { until } from '../helpers/until.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** Local mode in its own process group, as a terminal would start it; SIGKILLed with it after the test. */
function startLocal(dataDir: string, config: string): LocalVmops {
  const local = startLocalVmops(['--config', config], { VMOPS_DATA_DIR: dataDir }, { detached: true });
  cleanups.push(() => local.abandon());
  return local;
}

function dataDirAndConfig(edit: (yaml: string) => string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'vmops-sigkill-'));
  cleanups.push(() => {
    // The private redis-server outlives the group kill; the last run stops it, or this does.
    killPrivateRedis(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });
  const config = join(dataDir, 'vmops.yaml');
  // Every product runs the (edited) demo recipe: the real appliance would take minutes to build.
  writeFileSync(config, demoConfigYaml(edit(readFileSync(join(repoRoot, 'config', 'default.yaml'), 'utf8'))));
  return { dataDir, config };
}

/** What index.json lists for a version: its formats. */
function indexed(dataDir: string, version: string): string[] {
  const file = join(dataDir, 'downloads', 'cernvm', 'index.json');
  if (!existsSync(file)) return [];
  const index = JSON.parse(readFileSync(file, 'utf8')) as { versions?: Record<string, { formats?: object }> };
  return Object.keys(index.versions?.[version]?.formats ?? {}).sort();
}

/** The run records a killed run left: the jobs it had taken, with their steps. */
function runRecords(dataDir: string): RunRecord[] {
  const dir = join(dataDir, 'run', 'jobs');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as RunRecord);
}

/** `images <version>` lines as format → state. */
function imageStates(output: string, version: string): Map<string, string> {
  const block = output.split(`> images ${version}\n`)[1] ?? '';
  const states = new Map<string, string>();
  for (const line of block.split('\n').slice(1)) {
    const match = /^ {2}([a-z0-9]+) +([a-z]+)/.exec(line);
    if (!match) break;
    states.set(match[1] ?? '', match[2] ?? '');
  }
  return states;
}

/**
 * The publish step waits 2 s before it runs, so the kill lands while it runs; `quiet`: it prints
 * nothing after that, so the broken pipe of its dead worker does not stop it (it finishes alone).
 */
const slowPublish = (mode: 'quiet' | 'loud') => (yaml: string) =>
  yaml.replace(
    '- { name: publish, run: [recipes/demo/publish.sh], timeout: 10m }',
    `- { name: publish, run: [test/fixtures/steps/delay-then.sh, ${mode}, "2", ${join(repoRoot, 'recipes/demo/publish.sh')}], timeout: 10m }`,
  );

async function publishKilled(
  mode: 'quiet' | 'loud',
): Promise<{ dataDir: string; config: string; job: string; stepPid: number }> {
  const { dataDir, config } = dataDirAndConfig(slowPublish(mode));
  const first = startLocal(dataDir, config);
  first.say('build 2.6 kvm');
  first.say('test 2.6 kvm');
  first.say('publish 2.6 kvm');
  const running = /▶️ publish cernvm 2\.6 kvm · job (\S+) · step 1\/1/;
  await until(() => running.test(first.output()), {
    what: () => `publish to run:\n${first.output()}`,
    timeoutMs: 60_000,
  });
  const job = running.exec(first.output())?.[1] ?? '';
  await first.kill();
  const record = runRecords(dataDir).find((r) => r.jobId === job);
  const stepPid = record?.steps[0]?.pid ?? 0;
  expect(record?.stepRan).toBe(true);
  expect(processStart(stepPid)).toBe(record?.steps[0]?.start); // the step outlived its worker
  return { dataDir, config, job, stepPid };
}

describe('SIGKILL of local mode, then a restart', () => {
  it('during publish, with the step finishing on its own: the catalog says published, as index.json does', async () => {
    const { dataDir, config, job } = await publishKilled('quiet');
    // The orphaned step (its own process group) finishes and writes the index: what the issue saw.
    await until(() => indexed(dataDir, '2.6').includes('kvm'), {
      what: () => 'the orphaned publish to end',
      timeoutMs: 20_000,
    });
    const second = startLocal(dataDir, config);
    second.say('images 2.6');
    second.say(`status ${job}`);
    const { code, output } = await second.end();
    expect(code).toBe(0);
    expect(output).toContain(`Ended as worker lost, their images checked against the download area: ${job}.`);
    expect(imageStates(output, '2.6').get('kvm')).toBe('published');
    expect(existsSync(join(dataDir, 'downloads', 'cernvm', '2.6', 'cernvm-2.6-kvm.qcow2'))).toBe(true);
    expect(output).toMatch(new RegExp(`${job}  publish cernvm 2\\.6 kvm  failed`));
    expect(output).toMatch(/error: its worker \S+ \(pid \d+\) died while the job ran/);
    expect(output).not.toContain('attempt 2');
  }, 120_000);

  it('during publish, with the step still running at the restart: the step is stopped, and nothing says published', async () => {
    const { dataDir, config, job, stepPid } = await publishKilled('loud');
    const second = startLocal(dataDir, config);
    second.say('images 2.6');
    const { code, output } = await second.end();
    expect(code).toBe(0);
    // The restart stopped the orphan before it published anything: the download area and the catalog
    // both say not published, and the image is as it was before the job (passed), ready to publish again.
    expect(processStart(stepPid)).toBeUndefined();
    expect(output).toContain(`Ended as worker lost, their images checked against the download area: ${job}.`);
    expect(indexed(dataDir, '2.6')).toEqual([]);
    expect(imageStates(output, '2.6').get('kvm')).toBe('passed');
  }, 120_000);

  it('during build … all: nothing stays building, the cut-off builds are unknown, the never-started ones run', async () => {
    const { dataDir, config } = dataDirAndConfig((yaml) =>
      yaml.replace(
        '- { name: build, run: [recipes/demo/build.sh], timeout: 10m }',
        ['a', 'b', 'c']
          .map(
            (name) =>
              `- { name: ${name}, run: [recipes/demo/step.sh, ${name}], env: { VMOPS_DEMO_TICK: "0.5" } }`,
          )
          .join('\n          '),
      ),
    );
    const first = startLocal(dataDir, config);
    first.say('build 2.8 all');
    await until(() => /▶️ build cernvm 2\.8 \S+ · job \S+ · step 1\/3/.test(first.output()), {
      what: () => `a build to run:\n${first.output()}`,
      timeoutMs: 60_000,
    });
    await first.kill();
    const records = runRecords(dataDir);
    const ran = records.filter((r) => r.stepRan).map((r) => r.jobId);
    const waiting = records.filter((r) => !r.stepRan).map((r) => r.jobId);
    expect(ran.length).toBeGreaterThan(0);
    expect(waiting.length).toBeGreaterThan(0);

    // The restart runs the never-started jobs, and waits for them.
    const second = startLocal(dataDir, config);
    const rerun = await second.end();
    expect(rerun.code).toBe(0);
    expect(rerun.output).toContain(`Run again (they had not started): ${waiting.join(', ')}.`);

    const third = startLocal(dataDir, config);
    third.say('images 2.8');
    for (const job of [...ran, ...waiting]) third.say(`status ${job}`);
    const { output } = await third.end();
    const states = imageStates(output, '2.8');
    expect(states.size).toBe(6);
    expect([...states.values()]).not.toContain('building');
    const formatOf = (job: string) => records.find((r) => r.jobId === job)?.data.format ?? '';
    for (const job of ran) expect(states.get(formatOf(job))).toBe('unknown');
    for (const job of waiting) {
      expect(states.get(formatOf(job))).toBe('built');
      expect(output).toMatch(new RegExp(`${job}  build cernvm 2\\.8 \\S+  succeeded`));
    }
    expect(output).not.toContain('attempt 2');
    // A build cut off is no reason to refuse the next step as "being built".
    expect(output).not.toContain('is being built');
  }, 180_000);
});
