// runStep against real child processes: exit statuses, environment, argv, process-group kills, output.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StepDirective } from '../../../src/worker/progress-protocol.ts';
import {
  type RunStepOptions,
  runStep,
  type StepOutputLine,
  stepEnvironment,
} from '../../../src/worker/run-step.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const tmp = mkdtempSync(join(tmpdir(), 'vmops-run-step-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs a step with test defaults and collects what it printed. */
async function run(options: Partial<RunStepOptions> & { argv: string[] }) {
  const lines: StepOutputLine[] = [];
  const directives: StepDirective[] = [];
  const outcome = await runStep({
    cwd: tmp,
    repoRoot,
    env: {},
    timeoutMs: 15_000,
    ...options,
    onLine: (line) => {
      lines.push(line);
      options.onLine?.(line);
    },
    onDirective: (directive) => directives.push(directive),
  });
  const textOf = (stream: string) => lines.filter((l) => l.stream === stream).map((l) => l.text);
  return { outcome, directives, stdout: textOf('stdout'), stderr: textOf('stderr') };
}

const bash = (script: string, ...args: string[]) => ['bash', '-c', script, 'step', ...args];

/** True while the process runs; a zombie (dead, not yet reaped by PID 1) counts as gone. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** Waits until a killed process has ended; polls with a deadline, as a kill is not observable as an event. */
async function gone(pid: number, withinMs = 5000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (isRunning(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((wake) => setTimeout(wake, 20));
  }
  return true;
}

/** An AbortController that aborts when the step prints its first stdout line (a pid). */
function abortOnFirstLine() {
  const controller = new AbortController();
  let pid: number | undefined;
  const onLine = (line: StepOutputLine) => {
    if (line.stream !== 'stdout' || pid !== undefined) return;
    pid = Number(line.text);
    controller.abort();
  };
  return { signal: controller.signal, onLine, pid: () => pid };
}

describe('runStep', () => {
  it('reports exit codes, signals and both output streams', async () => {
    const ok = await run({ argv: bash('echo one; echo two >&2; echo three') });
    expect(ok.outcome).toMatchObject({ exitCode: 0, signal: null, timedOut: false, cancelled: false });
    expect(ok.stdout).toEqual(['one', 'three']);
    expect(ok.stderr).toEqual(['two']);

    expect((await run({ argv: bash('exit 3') })).outcome).toMatchObject({ exitCode: 3, signal: null });
    expect((await run({ argv: bash('kill -KILL $$') })).outcome).toMatchObject({
      exitCode: null,
      signal: 'SIGKILL',
    });
  });

  it('passes directives to onDirective, records artifacts and reports, keeps the rest as lines', async () => {
    const script = [
      'echo "::progress 50 half way"',
      'echo "::status packing"',
      'echo "::artifact out/a.qcow2"',
      'echo "::report tap/out.tap"',
      'echo "::progress abc"',
      'echo "::progress 10" >&2',
      'printf "crlf line\\r\\nno newline at the end"',
    ].join('; ');
    const { outcome, directives, stdout, stderr } = await run({ argv: bash(script) });
    expect(directives).toEqual([
      { kind: 'progress', percent: 50, message: 'half way' },
      { kind: 'status', message: 'packing' },
      { kind: 'artifact', path: 'out/a.qcow2' },
      { kind: 'report', path: 'tap/out.tap' },
    ]);
    expect(outcome.artifacts).toEqual(['out/a.qcow2']);
    expect(outcome.reports).toEqual(['tap/out.tap']);
    expect(stdout).toEqual(['::progress abc', 'crlf line', 'no newline at the end']);
    expect(stderr).toEqual(['::progress 10']);
  });

  it('gives the step its variables and a few harmless ones, never the worker secrets', async () => {
    const secrets = { VMOPS_SLACK_TOKEN: 'xoxb-secret', GITHUB_TOKEN: 'ghp-secret', DB_PASSWORD: 'hunter2' };
    Object.assign(process.env, secrets);
    try {
      const { outcome, stdout } = await run({
        argv: ['env'],
        env: { VMOPS_STAGE: 'build', EXTRA: 'a b; $(c)' },
      });
      expect(outcome.exitCode).toBe(0);
      expect(stdout).toContain('VMOPS_STAGE=build');
      expect(stdout).toContain('EXTRA=a b; $(c)');
      expect(stdout.some((line) => line.startsWith('PATH='))).toBe(true);
      for (const [name, value] of Object.entries(secrets)) {
        expect(stdout.filter((line) => line.startsWith(`${name}=`) || line.includes(value))).toEqual([]);
      }
    } finally {
      for (const name of Object.keys(secrets)) delete process.env[name];
    }
  });

  it('builds the environment from the allow-list only', () => {
    const env = stepEnvironment(
      {
        PATH: '/bin',
        HOME: '/root',
        TZ: 'UTC',
        VMOPS_REDIS_URL: 'redis://:pw@h',
        AWS_SECRET_ACCESS_KEY: 'x',
      },
      { VMOPS_JOB_ID: 'j1', PATH: '/opt/bin' },
    );
    expect(env).toEqual({ PATH: '/opt/bin', HOME: '/root', TZ: 'UTC', VMOPS_JOB_ID: 'j1' });
    expect(stepEnvironment({}, {}).PATH).toBe('/usr/local/bin:/usr/bin:/bin');
  });

  it('passes arguments verbatim, runs no shell, and resolves a relative program against repoRoot', async () => {
    const marker = join(tmp, 'injected');
    const victim = join(tmp, 'victim');
    mkdirSync(victim, { recursive: true });
    const argsFile = join(tmp, 'args');
    const args = [
      `kvm; rm -rf ${victim}`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `x\ntouch ${marker}`,
      `a && touch ${marker} || touch ${marker}`,
      `| touch ${marker}`,
      `> ${marker}`,
      '-rf',
      '--help',
      '*',
      '\'quoted\' "double" \\back',
      '',
    ];
    const { outcome } = await run({
      argv: ['test/fixtures/steps/write-args.sh', ...args],
      env: { ARGS_FILE: argsFile },
    });
    expect(outcome.exitCode).toBe(0);
    expect(readFileSync(argsFile, 'utf8').split('\0').slice(0, -1)).toEqual(args);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(victim)).toBe(true);
  });

  it('kills the whole process group on timeout, grandchildren included', async () => {
    const { outcome, stdout } = await run({ argv: bash('sleep 30 & echo $!; wait'), timeoutMs: 1000 });
    expect(outcome).toMatchObject({ timedOut: true, cancelled: false, exitCode: null, signal: 'SIGTERM' });
    const grandchild = Number(stdout[0]);
    expect(grandchild).toBeGreaterThan(0);
    expect(await gone(grandchild)).toBe(true);
  });

  it('kills the whole process group when the signal aborts', async () => {
    const abort = abortOnFirstLine();
    const { outcome } = await run({ argv: bash('sleep 30 & echo $!; wait'), ...abort });
    expect(outcome).toMatchObject({ cancelled: true, timedOut: false, signal: 'SIGTERM' });
    expect(await gone(abort.pid() ?? 0)).toBe(true);
  });

  it('sends SIGKILL after the grace period to a group that ignores SIGTERM', async () => {
    const abort = abortOnFirstLine();
    const { outcome } = await run({
      argv: bash("trap '' TERM; sleep 30 & echo $!; wait"),
      killGraceMs: 200,
      ...abort,
    });
    expect(outcome).toMatchObject({ cancelled: true, exitCode: null, signal: 'SIGKILL' });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(190);
    expect(await gone(abort.pid() ?? 0)).toBe(true);
  });

  it('ends what a successful step left running in its group', async () => {
    const { outcome, stdout } = await run({ argv: bash('sleep 30 & echo $!'), killGraceMs: 200 });
    expect(outcome).toMatchObject({ exitCode: 0, timedOut: false, cancelled: false });
    expect(await gone(Number(stdout[0]))).toBe(true);
  });

  it('starts nothing when the signal is already aborted', async () => {
    const marker = join(tmp, 'started');
    const { outcome } = await run({ argv: ['touch', marker], signal: AbortSignal.abort() });
    expect(outcome).toMatchObject({ cancelled: true, exitCode: null, signal: null });
    expect(existsSync(marker)).toBe(false);
  });

  it('explains programs that cannot start, with the shell exit statuses', async () => {
    const missing = await run({ argv: ['recipes/no-such-step.sh', 'x'] });
    expect(missing.outcome).toMatchObject({
      exitCode: 127,
      startError: 'cannot run recipes/no-such-step.sh: no such file',
    });
    expect(missing.stderr).toEqual(['cannot run recipes/no-such-step.sh: no such file']);

    const plain = join(tmp, 'not-executable.sh');
    writeFileSync(plain, '#!/bin/sh\necho hi\n');
    chmodSync(plain, 0o644);
    const denied = await run({ argv: [plain] });
    expect(denied.outcome.exitCode).toBe(126);
    expect(denied.stderr).toEqual([`cannot run ${plain}: permission denied (is it executable?)`]);

    const noCwd = await run({ argv: ['true'], cwd: join(tmp, 'nowhere') });
    expect(noCwd.outcome.exitCode).toBe(127);
    expect(noCwd.stderr[0]).toContain('working directory');

    const nul = await run({ argv: ['echo', 'a\0b'] });
    expect(nul.outcome.exitCode).toBe(126);
    expect(nul.stderr[0]).toMatch(/^cannot run echo: /);
  });

  it('cuts long lines with a marker and keeps the lines after them', async () => {
    const { stdout } = await run({
      argv: bash(
        'head -c 200000 /dev/zero | tr "\\0" a; echo; head -c 50 /dev/zero | tr "\\0" b; echo; echo "::status after"',
      ),
      maxLineLength: 100,
    });
    expect(stdout).toEqual([`${'a'.repeat(100)} … [line cut at 100 characters]`, 'b'.repeat(50)]);
  });

  it('cuts at 4096 characters by default', async () => {
    const { stdout } = await run({ argv: bash('head -c 5000 /dev/zero | tr "\\0" "x"; echo; echo short') });
    expect(stdout[0]).toBe(`${'x'.repeat(4096)} … [line cut at 4096 characters]`);
    expect(stdout[1]).toBe('short');
  });
});
