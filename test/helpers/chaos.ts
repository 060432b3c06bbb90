// Helpers for the chaos tests: a `node src/main.ts worker` process on a given Redis and prefix, with
// slow demo build steps, whose output is watched; how many times each job started (from the audit
// trail). A poll with a deadline is in until.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../src/app/config-load.ts';
import type { AuditTrail } from '../../src/audit/audit-trail.ts';
import { demoConfigYaml } from './demo-config.ts';
import type { SentMessage } from './fake-chat.ts';
import { stopChild } from './stop-child.ts';
import { until } from './until.ts';

export const finalText = (m: SentMessage) => m.versions.at(-1)?.text ?? '';
export const jobIn = (m: SentMessage) => m.versions[0]?.status?.jobId;

/** How many times each job started, from the audit trail (every worker appends `job.started`). */
export async function startsPerJob(audit: AuditTrail): Promise<Map<string, number>> {
  const starts = new Map<string, number>();
  for await (const entry of audit.entries()) {
    if (entry.kind !== 'job.started') continue;
    const job = String((entry.detail as { job?: string } | undefined)?.job);
    starts.set(job, (starts.get(job) ?? 0) + 1);
  }
  return starts;
}

export interface WorkerProcess {
  child: ChildProcess;
  /** stdout and stderr so far (pino JSON lines). */
  output(): string;
  /** Waits until the worker printed a line with this `msg`, `count` times in all. */
  logged(msg: string, count?: number, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Sends a signal to the process (never to anything else). */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after 10 s, and removes its temp dir. */
  stop(): Promise<void>;
}

export interface WorkerProcessOptions {
  redisUrl: string;
  prefix: string;
  /** Build steps: how many demo steps, and the seconds between their progress ticks (4 ticks a step). */
  buildSteps?: number;
  tick?: number;
  /** The build stage's steps as YAML flow items, one per line (instead of the demo steps). */
  buildStepsYaml?: string[];
  /** Appended to the config (e.g. a `jobs:` section). */
  extraYaml?: string;
  args?: string[];
}

/** `node src/main.ts worker --config FILE` with VMOPS_REDIS_URL, its config derived from config/default.yaml. */
export function startWorkerProcess(options: WorkerProcessOptions): WorkerProcess {
  const dir = mkdtempSync(join(tmpdir(), 'vmops-chaos-worker-'));
  const file = join(dir, 'vmops.yaml');
  const tick = options.tick ?? 0.3;
  const steps = (
    options.buildStepsYaml ??
    Array.from(
      { length: options.buildSteps ?? 3 },
      (_, i) =>
        `- { name: step${i + 1}, run: [recipes/demo/step.sh, step${i + 1}], env: { VMOPS_DEMO_TICK: "${tick}" } }`,
    )
  ).join('\n          ');
  writeFileSync(
    file,
    demoConfigYaml()
      .replace('prefix: vmops', `prefix: ${options.prefix}`)
      .replace(/- \{ name: build, run: \[ ?recipes\/demo\/build\.sh ?\], timeout: 10m \}/g, steps)
      .concat(`\n${options.extraYaml ?? ''}\n`),
  );
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'src', 'main.ts'), 'worker', '--config', file, ...(options.args ?? [])],
    {
      cwd: repoRoot,
      env: { ...process.env, VMOPS_REDIS_URL: options.redisUrl, VMOPS_DATA_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  const count = (msg: string) => output.split(`"msg":"${msg}"`).length - 1;
  return {
    child,
    output: () => output,
    logged: (msg, times = 1, timeoutMs = 20_000) =>
      until(() => count(msg) >= times, {
        what: () => `the worker to log "${msg}" ${times} time(s):\n${output}`,
        timeoutMs,
      }).then(() => undefined),
    exited,
    signal(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    async stop() {
      await stopChild(child, { graceMs: 10_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
