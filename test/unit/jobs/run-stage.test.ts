// runStage: steps in order, stage progress, step environment, and the errors that stop a stage.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type StepConfig, stepSchema } from '../../../config/schema.ts';
import { VmopsError } from '../../../src/errors.ts';
import {
  logDuration,
  type RunStageOptions,
  runStage,
  type StageProgress,
} from '../../../src/worker/run-stage.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const tmp = mkdtempSync(join(tmpdir(), 'vmops-run-stage-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const params = { VMOPS_JOB_ID: 'j42', VMOPS_STAGE: 'build', VMOPS_PRODUCT: 'cernvm', VMOPS_VERSION: '2.6' };
const bashStep = (name: string, script: string, extra: Partial<StepConfig> = {}): StepConfig => ({
  name,
  run: ['bash', '-c', script],
  ...extra,
});
const demoStep = (name: string): StepConfig => ({ name, run: ['recipes/demo/step.sh', name] });

/** Runs a stage with test defaults, collecting progress and log lines; the error, if any, is returned. */
async function stage(steps: StepConfig[], options: Partial<RunStageOptions> = {}) {
  const progress: StageProgress[] = [];
  const log: string[] = [];
  let error: VmopsError | undefined;
  const result = await runStage({
    steps,
    params: { ...params, VMOPS_DEMO_TICK: '0' },
    cwd: tmp,
    repoRoot,
    defaultTimeoutMs: 15_000,
    ...options,
    onProgress: (p) => progress.push(p),
    onLog: (line) => {
      log.push(line);
      options.onLog?.(line);
    },
  }).catch((caught: unknown) => {
    if (!(caught instanceof VmopsError)) throw caught;
    error = caught;
    return undefined;
  });
  return { result, error, progress, log };
}

describe('runStage', () => {
  it('reports progress of the whole stage at each start, directive and the end', async () => {
    const step = 'echo "::progress 50 half"; echo "::status almost"';
    const { result, progress } = await stage([bashStep('one', step), bashStep('two', step)]);
    expect(progress).toEqual([
      { step: 1, steps: 2, stepName: 'one', percent: 0 },
      { step: 1, steps: 2, stepName: 'one', percent: 25, message: 'half' },
      { step: 1, steps: 2, stepName: 'one', percent: 25, message: 'almost' },
      { step: 2, steps: 2, stepName: 'two', percent: 50 },
      { step: 2, steps: 2, stepName: 'two', percent: 75, message: 'half' },
      { step: 2, steps: 2, stepName: 'two', percent: 75, message: 'almost' },
      { step: 2, steps: 2, stepName: 'two', percent: 100, message: 'almost' },
    ]);
    expect(result?.steps.map(({ name, exitCode }) => ({ name, exitCode }))).toEqual([
      { name: 'one', exitCode: 0 },
      { name: 'two', exitCode: 0 },
    ]);
  });

  it('rounds the stage percent', async () => {
    const { progress } = await stage([
      bashStep('a', 'echo "::progress 33"'),
      bashStep('b', 'true'),
      bashStep('c', 'echo "::progress 12.5"'),
    ]);
    expect(progress.map((p) => p.percent)).toEqual([0, 11, 33, 67, 71, 100]);
  });

  it('logs output lines, stderr marked, and each step start and end', async () => {
    const { log } = await stage([bashStep('talk', 'echo out; echo err >&2; echo "::status quiet"')]);
    expect(log).toEqual([
      expect.stringMatching(
        /^step 1\/1 talk started: bash -c "echo out; echo err >&2; echo \\"::status quiet\\""$/,
      ),
      'out',
      '! err',
      expect.stringMatching(/^step 1\/1 talk ended: exit code 0 after \d+ms$/),
    ]);
  });

  it('gives each step the parameters, its own env and its place in the stage', async () => {
    const show = 'echo "$VMOPS_JOB_ID $VMOPS_PRODUCT $VMOPS_STEP $VMOPS_STEP_NUMBER/$VMOPS_STEPS mode=$MODE"';
    const { log } = await stage([
      bashStep('first', show, { env: { MODE: 'fast' } }),
      bashStep('second', show),
    ]);
    expect(log.filter((line) => !line.startsWith('step '))).toEqual([
      'j42 cernvm first 1/2 mode=fast',
      'j42 cernvm second 2/2 mode=',
    ]);
  });

  it("tells a local step the worker's boot slots only when the config sets them", async () => {
    const show = bashStep('boot', 'echo "slots=$VMOPS_BOOT_SLOTS"');
    const [set, unset] = await Promise.all([stage([show], { bootSlots: 3 }), stage([show])]);
    expect(set.log).toContain('slots=3');
    expect(unset.log).toContain('slots=');
  });

  it('collects artifacts and reports of all steps', async () => {
    const { result } = await stage([
      bashStep('make', 'echo "::artifact out/a.qcow2"; echo "::artifact out/a.vmdk"'),
      bashStep('check', 'echo "::report tap/check.tap"'),
    ]);
    expect(result?.artifacts).toEqual(['out/a.qcow2', 'out/a.vmdk']);
    expect(result?.reports).toEqual(['tap/check.tap']);
  });

  it('stops at a failing step with step_failed naming it; later steps do not run', async () => {
    const marker = join(tmp, 'third-ran');
    const { result, error, progress } = await stage(
      [demoStep('prepare'), demoStep('assemble'), bashStep('convert', `touch ${marker}`)],
      { params: { ...params, VMOPS_DEMO_TICK: '0', VMOPS_DEMO_FAIL: 'assemble' } },
    );
    expect(result).toBeUndefined();
    expect(error?.code).toBe('step_failed');
    expect(error?.message).toBe('step 2/3 assemble failed with exit code 3');
    expect(error?.detail).toMatchObject({
      step: 2,
      steps: 3,
      stepName: 'assemble',
      exitCode: 3,
      signal: null,
    });
    expect(existsSync(marker)).toBe(false);
    expect(progress.at(-1)).toMatchObject({ step: 2, stepName: 'assemble', percent: 50 });
  });

  it('names a program that cannot start', async () => {
    const { error } = await stage([{ name: 'ghost', run: ['recipes/demo/ghost.sh'] }]);
    expect(error?.code).toBe('step_failed');
    expect(error?.message).toBe('step 1/1 ghost failed: cannot run recipes/demo/ghost.sh: no such file');
  });

  it('names a step killed by a signal', async () => {
    const { error } = await stage([bashStep('crash', 'kill -KILL $$')]);
    expect(error?.message).toBe('step 1/1 crash failed: killed by SIGKILL');
  });

  it('fails with step_timeout when a step runs past its own timeout', async () => {
    const { error, log } = await stage([bashStep('slow', 'sleep 30', { timeout: 300 })]);
    expect(error?.code).toBe('step_timeout');
    expect(error?.message).toBe('step 1/1 slow timed out after 300ms');
    expect(error?.detail).toMatchObject({ step: 1, timeoutMs: 300, signal: 'SIGTERM' });
    expect(log.at(-1)).toMatch(/^step 1\/1 slow ended: signal SIGTERM \(timed out\) after \d+ms$/);
  });

  it('uses the default timeout for steps that set none', async () => {
    const { error } = await stage([bashStep('slow', 'sleep 30')], { defaultTimeoutMs: 300 });
    expect(error?.code).toBe('step_timeout');
  });

  it('fails with cancelled when the signal aborts during a step', async () => {
    const controller = new AbortController();
    const marker = join(tmp, 'after-cancel');
    const { error } = await stage(
      [
        bashStep('ready', 'true'),
        bashStep('wait', 'echo waiting; sleep 30'),
        bashStep('after', `touch ${marker}`),
      ],
      {
        signal: controller.signal,
        onLog: (line) => {
          if (line === 'waiting') controller.abort();
        },
      },
    );
    expect(error?.code).toBe('cancelled');
    expect(error?.message).toBe('cancelled during step 2/3 wait');
    expect(existsSync(marker)).toBe(false);
  });

  it('runs nothing when cancelled before the start', async () => {
    const { error, progress } = await stage([bashStep('never', 'true')], { signal: AbortSignal.abort() });
    expect(error?.message).toBe('cancelled before step 1/1 never');
    expect(progress).toEqual([]);
  });

  it('refuses an empty stage', async () => {
    expect((await stage([])).error?.code).toBe('no_recipe');
  });

  it('runs the demo step the way a config names it', async () => {
    const steps = stepSchema
      .array()
      .parse(
        ['prepare', 'assemble', 'convert'].map((name) => ({ name, run: ['recipes/demo/step.sh', name] })),
      );
    const { result, progress, log } = await stage(steps, {
      params: { ...params, VMOPS_FORMAT: 'kvm', VMOPS_DEMO_TICK: '0' },
    });
    expect(result?.steps.map((s) => s.name)).toEqual(['prepare', 'assemble', 'convert']);
    expect(progress.at(-1)).toMatchObject({ step: 3, steps: 3, percent: 100 });
    expect(progress.map((p) => p.percent)).toEqual([...progress.map((p) => p.percent)].sort((a, b) => a - b));
    expect(log).toContain('demo assemble: stage build of cernvm 2.6, format kvm');
  });
});

describe('logDuration', () => {
  it.each([
    [250, '250ms'],
    [4210, '4.2s'],
    [90_000, '1m30s'],
    [300_000, '5m'],
    [7_500_000, '2h5m'],
  ])('%d ms is %s', (ms, text) => {
    expect(logDuration(ms)).toBe(text);
  });
});
