// Local mode keeps its data to itself: the data directory it makes is 0700, its log 0600, its
// private Redis's directory (the AOF) 0700, and that Redis asks for a password no one else has,
// given to it in a 0600 file rather than on a command line every user can read.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalVmops } from '../helpers/local-vmops.ts';
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
    const local = startLocalVmops([], { VMOPS_DATA_DIR: dataDir });
    cleanups.push(() => local.abandon());
    const log = join(dataDir, 'vmops.log');
    const started = () =>
      existsSync(log) ? /"redis":"redis:\/\/[^"]*:(\d+)"/.exec(readFileSync(log, 'utf8')) : null;
    await until(() => started() !== null, {
      what: () => `local mode to start:\n${local.output()}`,
      timeoutMs: 30_000,
    });
    const port = Number(started()?.[1]);

    expect(mode(dataDir)).toBe(0o700);
    expect(mode(log)).toBe(0o600);
    expect(mode(join(dataDir, 'redis'))).toBe(0o700);
    expect(mode(join(dataDir, 'redis', 'vmops-redis.conf'))).toBe(0o600);
    expect(readFileSync(log, 'utf8')).not.toMatch(/redis:\/\/:[^r@][^@]*@/); // the password is not logged
    const cmdline = readFileSync(`/proc/${local.child.pid}/cmdline`, 'utf8');
    expect(cmdline).not.toContain('requirepass');

    // A stranger on the host reaches the port, and is refused.
    expect(await ask(port, 'PING\r\n')).toMatch(/^-NOAUTH/);
    expect(await ask(port, 'AUTH guess\r\n')).toMatch(/^-WRONGPASS/);
    const { code, output } = await local.end('whoami\n');
    expect(code).toBe(0);
    expect(output).toContain('alice> whoami');
  }, 60_000);
});
