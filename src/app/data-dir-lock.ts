// Local mode owns its data directory: one vmops at a time. Takes the lock (a pid file) and, when the
// previous owner died without stopping its private redis-server, stops that orphan first.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VmopsError } from '../errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function stopOrphanRedis(pidFile: string): Promise<void> {
  const pid = readPid(pidFile);
  if (pid === undefined || !alive(pid)) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes('redis-server')) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
}

/** Locks `dataDir` for this process; returns the function that releases it. */
export async function lockDataDir(dataDir: string, redisPidFile: string): Promise<() => void> {
  // A data directory vmops makes is its own: 0700 (jobs' files, the audit journals, the Redis AOF, the log).
  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lockFile = join(dataDir, 'vmops.pid');
  const owner = readPid(lockFile);
  if (owner !== undefined && owner !== process.pid && alive(owner)) {
    throw new VmopsError(
      'data_dir_locked',
      `another vmops (pid ${owner}) is running on the data directory ${dataDir}: stop it, or give this one its own with VMOPS_DATA_DIR=…`,
    );
  }
  await stopOrphanRedis(redisPidFile);
  writeFileSync(lockFile, `${process.pid}\n`);
  return () => {
    if (readPid(lockFile) === process.pid) rmSync(lockFile, { force: true });
  };
}
