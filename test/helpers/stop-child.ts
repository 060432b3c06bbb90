// Stops a child process the tests started: the signal (SIGTERM), then SIGKILL if it has not exited
// after the grace time; resolves once it has exited (at once when it already had).
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export async function stopChild(
  child: ChildProcess,
  { signal = 'SIGTERM', graceMs = 5000 }: { signal?: NodeJS.Signals; graceMs?: number } = {},
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = once(child, 'exit');
  child.kill(signal);
  const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(killer);
}
