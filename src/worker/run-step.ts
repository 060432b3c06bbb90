// Runs one recipe step: a program and its arguments, never through a shell, in its own process group.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { parseStepLine, type StepDirective } from './progress-protocol.ts';

/** The only variables a step inherits from the worker; everything else (tokens, passwords) stays out. */
export const INHERITED_ENV = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
];

const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin';
/** setTimeout fires at once for longer delays, so longer timeouts are shortened to this (~24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One line a step printed (directives excluded), without its newline. */
export interface StepOutputLine {
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface RunStepOptions {
  /** The program and its arguments, passed as they are. */
  argv: readonly string[];
  /** Working directory of the step. */
  cwd: string;
  /** Program paths with a `/` that are not absolute (`recipes/demo/step.sh`) are relative to this. */
  repoRoot: string;
  /** The step's variables, added to the few inherited ones (INHERITED_ENV). */
  env: Readonly<Record<string, string>>;
  /** The whole process group is stopped after this long. */
  timeoutMs: number;
  /** Aborting stops the whole process group; when already aborted, nothing is started. */
  signal?: AbortSignal;
  /** Time between SIGTERM and SIGKILL when stopping the group (default 5 s). */
  killGraceMs?: number;
  /** Longer lines are cut and marked (default 4096 characters). */
  maxLineLength?: number;
  /** Each log line: everything on stderr, and stdout lines that are not directives. */
  onLine?: (line: StepOutputLine) => void;
  /** Each directive the step printed on stdout (see progress-protocol.ts). */
  onDirective?: (directive: StepDirective) => void;
  /** The step started as process (and process group) `pid`: recorded so a later start can stop it if its worker died. */
  onSpawn?: (pid: number) => void;
}

export interface StepOutcome {
  /** Exit status, or null when a signal ended the step or it never started (cancelled before). */
  exitCode: number | null;
  /** Signal that ended the step (`SIGTERM`, `SIGKILL`), if one did. */
  signal: string | null;
  durationMs: number;
  timedOut: boolean;
  cancelled: boolean;
  /** Paths from `::artifact` lines, in order. */
  artifacts: string[];
  /** Paths from `::report` lines, in order. */
  reports: string[];
  /** Why the program could not be started (also passed to `onLine`); exitCode is then 127 or 126. */
  startError?: string;
}

/** The complete environment of a step: a few harmless variables of the worker's, then the step's own. */
export function stepEnvironment(
  parent: Readonly<Record<string, string | undefined>>,
  variables: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = { PATH: FALLBACK_PATH };
  for (const name of INHERITED_ENV) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...variables };
}

/** Runs the step to its end; resolves once it has exited and its output is read. Never rejects. */
export function runStep(options: RunStepOptions): Promise<StepOutcome> {
  const startedAt = performance.now();
  const artifacts: string[] = [];
  const reports: string[] = [];
  const outcome = (
    end: Pick<StepOutcome, 'exitCode' | 'signal' | 'timedOut' | 'cancelled'>,
  ): StepOutcome => ({
    ...end,
    durationMs: Math.round(performance.now() - startedAt),
    artifacts,
    reports,
  });
  const cannotStart = (program: string, error: unknown): StepOutcome => {
    const { reason, exitCode } = startErrorReason(error, options.cwd);
    const startError = `cannot run ${program}: ${reason}`;
    options.onLine?.({ stream: 'stderr', text: startError });
    return { ...outcome({ exitCode, signal: null, timedOut: false, cancelled: false }), startError };
  };

  const { signal } = options;
  if (signal?.aborted) {
    return Promise.resolve(outcome({ exitCode: null, signal: null, timedOut: false, cancelled: true }));
  }
  const [program, ...args] = options.argv;
  if (program === undefined) return Promise.resolve(cannotStart('(empty command)', 'no program given'));

  return new Promise((settle) => {
    let child: ChildProcessByStdio<null, Readable, Readable>;
    try {
      child = spawn(resolveProgram(program, options.repoRoot), args, {
        cwd: options.cwd,
        env: stepEnvironment(process.env, options.env),
        shell: false,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      settle(cannotStart(program, error)); // arguments Node refuses (a NUL byte), a bad cwd type
      return;
    }
    const pid = child.pid;
    if (pid === undefined) {
      child.once('error', (error) => settle(cannotStart(program, error))); // ENOENT, EACCES: emitted next tick
      return;
    }

    options.onSpawn?.(pid);
    let exited = false;
    let timedOut = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stopGroup = () => {
      if (killTimer !== undefined) return;
      signalGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => {
        if (groupAlive(pid)) signalGroup(pid, 'SIGKILL');
      }, options.killGraceMs ?? 5000);
      killTimer.unref();
    };
    const timeoutTimer = setTimeout(
      () => {
        if (exited || cancelled) return;
        timedOut = true;
        stopGroup();
      },
      Math.min(Math.max(options.timeoutMs, 0), MAX_TIMER_MS),
    );
    const onAbort = () => {
      if (exited || timedOut) return;
      cancelled = true;
      stopGroup();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const maxLineLength = options.maxLineLength ?? 4096;
    readLines(child.stdout, maxLineLength, (text, cut) =>
      handleStdoutLine(options, { artifacts, reports }, text, cut),
    );
    readLines(child.stderr, maxLineLength, (text) => options.onLine?.({ stream: 'stderr', text }));

    child.once('exit', () => {
      exited = true;
      clearTimeout(timeoutTimer);
      // What the step left running in its group (background jobs) ends with the step.
      if (groupAlive(pid)) stopGroup();
    });
    child.once('close', (exitCode, exitSignal) => {
      signal?.removeEventListener('abort', onAbort);
      if (!groupAlive(pid)) clearTimeout(killTimer);
      settle(outcome({ exitCode, signal: exitSignal, timedOut, cancelled }));
    });
  });
}

/** Program paths with a slash are files in the repository unless absolute; bare names are looked up in PATH. */
function resolveProgram(program: string, repoRoot: string): string {
  return program.includes('/') && !isAbsolute(program) ? resolve(repoRoot, program) : program;
}

/** A person-readable reason why a program did not start, with the shell's exit status for it. */
function startErrorReason(error: unknown, cwd: string): { reason: string; exitCode: number } {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' && !existsSync(cwd))
    return { reason: `working directory ${cwd} does not exist`, exitCode: 127 };
  if (code === 'ENOENT') return { reason: 'no such file', exitCode: 127 };
  if (code === 'EACCES') return { reason: 'permission denied (is it executable?)', exitCode: 126 };
  if (code === 'ENOEXEC') return { reason: 'not an executable (a script needs a #! line)', exitCode: 126 };
  return { reason: error instanceof Error ? error.message : String(error), exitCode: 126 };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already, which is what was wanted.
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Passes on each line of a text stream; lines over `maxLength` are cut and marked, so memory stays bounded. */
export function readLines(
  stream: Readable,
  maxLength: number,
  onLine: (text: string, cut: boolean) => void,
): void {
  let partial = '';
  let skipping = false; // the current line went out cut; the rest of it is dropped
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf('\n', start);
      if (!skipping) partial += chunk.slice(start, newline === -1 ? chunk.length : newline);
      if (partial.length > maxLength) {
        onLine(`${partial.slice(0, maxLength)} … [line cut at ${maxLength} characters]`, true);
        partial = '';
        skipping = true;
      }
      if (newline === -1) return;
      if (!skipping) onLine(withoutCr(partial), false);
      partial = '';
      skipping = false;
      start = newline + 1;
    }
  });
  stream.on('end', () => {
    if (!skipping && partial !== '') onLine(withoutCr(partial), false);
  });
}

function withoutCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** One line a step printed on stdout: a directive goes to onDirective (artifacts and reports are kept),
 * anything else, and any line that was cut, to onLine. */
export function handleStdoutLine(
  options: Pick<RunStepOptions, 'onLine' | 'onDirective'>,
  found: { artifacts: string[]; reports: string[] },
  text: string,
  cut: boolean,
): void {
  const line = cut ? { kind: 'log' as const, text } : parseStepLine(text);
  if (line.kind === 'log') {
    options.onLine?.({ stream: 'stdout', text: line.text });
    return;
  }
  if (line.kind === 'artifact') found.artifacts.push(line.path);
  if (line.kind === 'report') found.reports.push(line.path);
  options.onDirective?.(line);
}
