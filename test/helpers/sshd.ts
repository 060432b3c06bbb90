// A throwaway OpenSSH server on a free loopback port, with fresh host and client keys, for SSH tests.
import { execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/redis/free-port.ts';
import { stopChild } from './stop-child.ts';

const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  port: number;
  /** Login name: the user running the tests (the keys are authorized for it). */
  user: string;
  /** The host key's fingerprint as `ssh-keygen -lf` prints it (`SHA256:…`). */
  hostKeyFingerprint: string;
  /** A private key that may log in. */
  clientKeyFile: string;
  /** A private key that may not (the host's own). */
  otherKeyFile: string;
  /** Temporary directory of keys and config; removed by stop(). */
  dir: string;
  /** What sshd logged so far (for failure messages). */
  log(): string;
  /** SIGTERM, wait for the exit, remove the directory. */
  stop(): Promise<void>;
}

/** Starts sshd and resolves once it listens. */
export async function startSshd(): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'vmops-sshd-'));
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
  const hostKey = join(dir, 'host_ed25519_key');
  const clientKey = join(dir, 'client_ed25519_key');
  keygen(hostKey);
  keygen(clientKey);
  copyFileSync(`${clientKey}.pub`, join(dir, 'authorized_keys'));
  const fingerprint = execFileSync('ssh-keygen', ['-lf', `${hostKey}.pub`], { encoding: 'utf8' }).split(
    ' ',
  )[1];
  if (fingerprint === undefined || !fingerprint.startsWith('SHA256:'))
    throw new Error('no host key fingerprint');
  mkdirSync('/run/sshd', { recursive: true });

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'UsePAM no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'StrictModes no',
        '',
      ].join('\n'),
    );
    const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      log += chunk;
    });
    const listening = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      child.stderr.on('data', () => {
        if (log.includes('Server listening on')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!listening) {
      await stopChild(child);
      if (attempt < 3 && log.includes('Address already in use')) continue; // the free port was taken meanwhile
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd did not start:\n${log}`);
    }
    return {
      port,
      user: userInfo().username,
      hostKeyFingerprint: fingerprint,
      clientKeyFile: clientKey,
      otherKeyFile: hostKey,
      dir,
      log: () => log,
      stop: async () => {
        await stopChild(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

/** Command lines of live processes whose environment carries VMOPS_TEST_TAG=tag (zombies have none). */
export function tagged(tag: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`VMOPS_TEST_TAG=${tag}`))
        continue;
      found.push(readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trim());
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
