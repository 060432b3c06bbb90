// Local mode as a person runs it, for the tests that need the real process: `node src/main.ts ARGS`
// with commands typed on its input, its output (stdout and stderr) kept, and ways to end it: its input
// closed, or SIGKILL (to its whole process group when started detached, as a terminal would give it).
// Local mode's private redis-server runs in a process group of its own and outlives a SIGKILL of
// vmops: killPrivateRedis stops the one a data directory's pid file names.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../src/app/config-load.ts';

export interface LocalVmops {
  child: ChildProcess;
  /** What it wrote so far, stdout and stderr together. */
  output(): string;
  /** Types one line. */
  say(line: string): void;
  /** Closes its input (after `input`), and resolves with its exit code and output once it exited. */
  end(input?: string): Promise<{ code: number | null; output: string }>;
  /** SIGKILL to it (to its process group when detached); resolves once it exited. */
  kill(): Promise<void>;
  /** For cleanups: SIGKILL (as kill) when it still runs, without waiting. */
  abandon(): void;
}

export function startLocalVmops(
  args: string[],
  env: Record<string, string>,
  options: { detached?: boolean } = {},
): LocalVmops {
  const child = spawn(process.execPath, [join(repoRoot, 'src', 'main.ts'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, VMOPS_REDIS_URL: '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.detached ? { detached: true } : {}),
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = once(child, 'exit');
  const running = () => child.exitCode === null && child.signalCode === null;
  const sigkill = () => {
    if (options.detached) process.kill(-(child.pid ?? 0), 'SIGKILL');
    else child.kill('SIGKILL');
  };
  return {
    child,
    output: () => output,
    say: (line) => child.stdin?.write(`${line}\n`),
    async end(input) {
      child.stdin?.end(input ?? '');
      if (running()) await exited;
      return { code: child.exitCode, output };
    },
    async kill() {
      sigkill();
      await exited;
    },
    abandon() {
      try {
        if (running()) sigkill();
      } catch {
        // gone
      }
    },
  };
}

/** SIGKILL to the private redis-server of a data directory, when its pid file says one runs. */
export function killPrivateRedis(dataDir: string): void {
  const pidFile = join(dataDir, 'redis', 'redis.pid');
  if (!existsSync(pidFile)) return;
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
  } catch {
    // already gone
  }
}
