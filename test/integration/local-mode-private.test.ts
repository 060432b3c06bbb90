// Local mode keeps its data to itself: the data directory it makes is 0700, its log 0600, its
// private Redis's directory (the AOF) 0700, and that Redis asks for a password no one else has,
// given to it in a 0600 file rather than on a command line every user can read.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/config-load.ts';
import { until } from '../helpers/until.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

const mode = (path: string) => statSync(path).mode & 0o777;

/** Sends one raw command to a Redis port and resolves with the first reply line. */
function ask(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(command));
    socket.once('data', (chunk) => {
      resolve(chunk.toString().split('\r\n')[0] ?? '');
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('local mode keeps its data private', () => {
  it('makes its data dir 0700, its log 0600, and runs its Redis with a password', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'vmops-private-'));
    cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
    const dataDir = join(parent, 'data'); // made by vmops
    const child = spawn(process.execPath, [join(repoRoot, 'src', 'main.ts')], {
      cwd: repoRoot,
      env: { ...process.env, VMOPS_REDIS_URL: '', VMOPS_DATA_DIR: dataDir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let output = '';
    child.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    const log = join(dataDir, 'vmops.log');
    const started = () =>
      existsSync(log) ? /"redis":"redis:\/\/[^"]*:(\d+)"/.exec(readFileSync(log, 'utf8')) : null;
    await until(() => started() !== null, {
      what: () => `local mode to start:\n${output}`,
      timeoutMs: 30_000,
    });
    const port = Number(started()?.[1]);

    expect(mode(dataDir)).toBe(0o700);
    expect(mode(log)).toBe(0o600);
    expect(mode(join(dataDir, 'redis'))).toBe(0o700);
    expect(mode(join(dataDir, 'redis', 'vmops-redis.conf'))).toBe(0o600);
    expect(readFileSync(log, 'utf8')).not.toMatch(/redis:\/\/:[^r@][^@]*@/); // the password is not logged
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
    expect(cmdline).not.toContain('requirepass');

    // A stranger on the host reaches the port, and is refused.
    expect(await ask(port, 'PING\r\n')).toMatch(/^-NOAUTH/);
    expect(await ask(port, 'AUTH guess\r\n')).toMatch(/^-WRONGPASS/);
    child.stdin?.end('whoami\n');
    await exited;
    expect(child.exitCode).toBe(0);
    expect(output).toContain('alice> whoami');
  }, 60_000);
});
