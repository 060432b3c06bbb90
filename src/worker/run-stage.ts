// Runs the steps of one stage in order, turning their output into stage progress and log lines.
import type { HostConfig, StepConfig } from '../../config/schema.ts';
import { VmopsError } from '../errors.ts';
import type { JobProgress, JobResult } from '../types.ts';
import type { StepDirective } from './progress-protocol.ts';
import { type RunStepOptions, runStep, type StepOutcome } from './run-step.ts';
import type { RunStepOverSshOptions } from './run-step-ssh.ts';

/** ssh2 is loaded by the first step on an SSH host, not by every worker that could run one. */
async function runStepOverSsh(options: RunStepOverSshOptions): Promise<StepOutcome> {
  return (await import('./run-step-ssh.ts')).runStepOverSsh(options);
}

/** Progress of the running stage; the worker adds `startedAt` and `worker` to make a JobProgress. */
export type StageProgress = Pick<JobProgress, 'step' | 'steps' | 'stepName' | 'percent' | 'message'>;

/** A JobResult with the files the steps named in `::artifact` and `::report` lines. */
export interface StageResult extends JobResult {
  artifacts: string[];
  reports: string[];
}

export interface RunStageOptions {
  steps: readonly StepConfig[];
  /** Job parameters as environment variables (VMOPS_JOB_ID, VMOPS_STAGE, …, VMOPS_PARAM_*). */
  params: Readonly<Record<string, string>>;
  /** Variables only steps marked `cloudAccess` get: the clouds' settings and secrets. */
  cloudEnv?: Readonly<Record<string, string>>;
  /** Working directory of every step. */
  cwd: string;
  /** Relative step programs (`recipes/demo/step.sh`) are found here. */
  repoRoot: string;
  /** SSH build hosts by name: a step with `host` runs there (config `hosts`). */
  hosts?: Readonly<Record<string, HostConfig>>;
  /** Guests a local step may boot at once on this host (config jobs.bootSlots); an SSH host's own bootSlots applies there. */
  bootSlots?: number;
  /** Timeout of a step that sets none. */
  defaultTimeoutMs: number;
  /** Aborting stops the running step's process group; the remaining steps do not run. */
  signal?: AbortSignal;
  /** Time between SIGTERM and SIGKILL when a step is stopped (default 5 s). */
  killGraceMs?: number;
  /** Called at each step start, at each `::progress` and `::status`, and at the end (100). */
  onProgress?: (progress: StageProgress) => void;
  /** Called for each log line: step output (stderr lines start with `! `), step starts and ends. */
  onLog?: (line: string) => void;
  /** Called when a step is about to run (before it starts, so an attempt that runs a step is counted first). */
  onStepStart?: (step: number) => void;
  /** Called with the process group of each local step once it started. */
  onSpawn?: (pid: number) => void;
}

/** Runs the steps; throws VmopsError `step_failed`, `step_timeout` or `cancelled` at the first that does not succeed. */
export async function runStage(options: RunStageOptions): Promise<StageResult> {
  const { steps, signal, killGraceMs } = options;
  const last = steps.at(-1);
  if (last === undefined) throw new VmopsError('no_recipe', 'the stage has no steps to run');
  const startedAt = performance.now();
  const result: StageResult = { durationMs: 0, steps: [], artifacts: [], reports: [] };
  let message: string | undefined;

  for (const [index, step] of steps.entries()) {
    const number = index + 1;
    const label = `step ${number}/${steps.length} ${step.name}`;
    if (signal?.aborted) throw new VmopsError('cancelled', `cancelled before ${label}`, { step: number });
    const report = (stepPercent: number) => {
      const percent = Math.round(((index + stepPercent / 100) / steps.length) * 100);
      const progress: StageProgress = { step: number, steps: steps.length, stepName: step.name, percent };
      options.onProgress?.(message === undefined ? progress : { ...progress, message });
    };

    let stepPercent = 0;
    message = undefined;
    report(stepPercent);
    const onDirective = (directive: StepDirective) => {
      if (directive.kind === 'progress') stepPercent = directive.percent;
      if (directive.kind === 'progress' || directive.kind === 'status') {
        if (directive.message !== undefined) message = directive.message;
        report(stepPercent);
      }
    };
    const timeoutMs = step.timeout ?? options.defaultTimeoutMs;
    const host = step.host === undefined ? undefined : findHost(options.hosts, step.host);
    if (step.host !== undefined && host === undefined) {
      const known = Object.keys(options.hosts ?? {}).join(', ') || 'none configured';
      const text = `${label} failed: host "${step.host}" is not one of the hosts (${known})`;
      options.onLog?.(`! ${text}`);
      const detail = { step: number, steps: steps.length, stepName: step.name, host: step.host };
      throw new VmopsError('step_failed', text, {
        ...detail,
        artifacts: result.artifacts,
        reports: result.reports,
      });
    }
    options.onStepStart?.(number);
    options.onLog?.(
      `${label} started${step.host === undefined ? '' : ` on ${step.host}`}: ${showArgv(step.run)}`,
    );
    const stepOptions: RunStepOptions = {
      argv: step.run,
      cwd: options.cwd,
      repoRoot: options.repoRoot,
      env: {
        ...step.env, // fixed values from config first: the job's own variables always win
        ...options.params,
        ...(step.cloudAccess ? options.cloudEnv : {}),
        ...bootSlotsEnvironment(host === undefined ? options.bootSlots : host.bootSlots),
        VMOPS_STEP: step.name,
        VMOPS_STEP_NUMBER: String(number),
        VMOPS_STEPS: String(steps.length),
      },
      timeoutMs,
      ...(signal === undefined ? {} : { signal }),
      ...(killGraceMs === undefined ? {} : { killGraceMs }),
      onLine: ({ stream, text }) => options.onLog?.(stream === 'stderr' ? `! ${text}` : text),
      onDirective,
      ...(options.onSpawn === undefined ? {} : { onSpawn: options.onSpawn }),
    };
    const outcome =
      step.host === undefined || host === undefined
        ? await runStep(stepOptions)
        : await runStepOverSsh({ ...stepOptions, host, hostName: step.host });
    result.artifacts.push(...outcome.artifacts);
    result.reports.push(...outcome.reports);
    options.onLog?.(`${label} ended: ${showEnd(outcome)} after ${logDuration(outcome.durationMs)}`);

    const detail = {
      step: number,
      steps: steps.length,
      stepName: step.name,
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      durationMs: outcome.durationMs,
      // What the steps announced before the failure: a failing test stage still leaves its report.
      artifacts: result.artifacts,
      reports: result.reports,
    };
    if (outcome.cancelled) throw new VmopsError('cancelled', `cancelled during ${label}`, detail);
    if (outcome.timedOut) {
      const text = `${label} timed out after ${logDuration(timeoutMs)}`;
      throw new VmopsError('step_timeout', text, { ...detail, timeoutMs });
    }
    if (outcome.exitCode !== 0) {
      throw new VmopsError('step_failed', `${label} ${showFailure(outcome)}`, detail);
    }
    result.steps.push({ name: step.name, exitCode: 0, durationMs: outcome.durationMs });
  }

  const done: StageProgress = { step: steps.length, steps: steps.length, stepName: last.name, percent: 100 };
  options.onProgress?.(message === undefined ? done : { ...done, message });
  result.durationMs = Math.round(performance.now() - startedAt);
  return result;
}

/** The host of that name; names like `constructor` are not inherited from Object.prototype. */
function findHost(hosts: RunStageOptions['hosts'], name: string): HostConfig | undefined {
  return hosts !== undefined && Object.hasOwn(hosts, name) ? hosts[name] : undefined;
}

function showFailure(outcome: StepOutcome): string {
  if (outcome.startError !== undefined) return `failed: ${outcome.startError}`;
  if (outcome.exitCode === null) return `failed: killed by ${outcome.signal ?? 'a signal'}`;
  return `failed with exit code ${outcome.exitCode}`;
}

function showEnd(outcome: StepOutcome): string {
  let how = 'not started';
  if (outcome.exitCode !== null) how = `exit code ${outcome.exitCode}`;
  else if (outcome.signal !== null) how = `signal ${outcome.signal}`;
  if (outcome.timedOut) return `${how} (timed out)`;
  if (outcome.cancelled) return `${how} (cancelled)`;
  return how;
}

/** The argv as a log line; arguments with spaces or special characters are shown quoted. */
function showArgv(argv: readonly string[]): string {
  return argv.map((arg) => (/^[\w./:=@%+,-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(' ');
}

/** `250ms`, `4.2s`, `5m`, `1m30s`, `2h5m`. */
export function logDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  const total = Math.round(ms / 1000);
  const parts = [
    [Math.floor(total / 3600), 'h'],
    [Math.floor((total % 3600) / 60), 'm'],
    [total % 60, 's'],
  ] as const;
  return parts
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value}${unit}`)
    .join('');
}

/** VMOPS_BOOT_SLOTS for the host a step runs on, when its config sets it (else the recipe decides). */
function bootSlotsEnvironment(slots: number | undefined): Record<string, string> {
  return slots === undefined ? {} : { VMOPS_BOOT_SLOTS: String(slots) };
}
