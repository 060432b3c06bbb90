// A throwaway Prosody (Debian package) on a free loopback port, with its own config and data in a temp
// dir, for XMPP tests. No TLS, no s2s. `conference.localhost` makes non-anonymous rooms (every occupant
// sees real JIDs) with a message archive (so messages carry <stanza-id>); `anon.localhost` makes
// semi-anonymous rooms (only moderators see real JIDs); `roomLimits` rate-limits the former's rooms as
// public servers do. `restart()` kills it and starts it again on the same port with the same data
// (accounts survive; rooms, which are not persistent, do not).
import { type ChildProcessByStdio, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/redis/free-port.ts';
import { stopChild } from './stop-child.ts';

export interface Prosody {
  port: number;
  /** `xmpp://127.0.0.1:PORT` */
  service: string;
  domain: 'localhost';
  /** Non-anonymous MUC service. */
  muc: 'conference.localhost';
  /** Semi-anonymous MUC service. */
  anonMuc: 'anon.localhost';
  dir: string;
  /** Creates an account (`name@localhost`). */
  register(name: string, password: string): void;
  /** Kills the server (SIGKILL: no goodbye to clients) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** What it logged so far. */
  log(): string;
  /** SIGTERM, wait for the exit, remove the directory. */
  stop(): Promise<void>;
}

type Child = ChildProcessByStdio<null, Readable, Readable>;

export interface ProsodyOptions {
  /**
   * A rate limit in the rooms of `conference.localhost`, as mod_muc_limits sets one
   * (test/fixtures/prosody/mod_vmops_room_limits.lua): tokens a second, and at most this many at once.
   */
  roomLimits?: { perSecond: number; burst: number };
}

const MODULES = fileURLToPath(new URL('../fixtures/prosody', import.meta.url));

export async function startProsody(options: ProsodyOptions = {}): Promise<Prosody> {
  const limits = options.roomLimits;
  const dir = mkdtempSync(join(tmpdir(), 'vmops-prosody-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  mkdirSync(join(dir, 'certs'));
  const config = join(dir, 'prosody.cfg.lua');
  let port = 0;
  let child: Child | undefined;
  let output = '';

  const writeConfig = () =>
    writeFileSync(
      config,
      [
        'run_as_root = true',
        'daemonize = false',
        `pidfile = "${join(dir, 'prosody.pid')}"`,
        `data_path = "${data}"`,
        `certificates = "${join(dir, 'certs')}"`,
        'interfaces = { "127.0.0.1" }',
        `c2s_ports = { ${port} }`,
        'c2s_direct_tls_ports = { }',
        'modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "smacks"; "posix" }',
        'modules_disabled = { "s2s"; "tls"; "admin_socket"; "admin_shell" }',
        'c2s_require_encryption = false',
        'authentication = "internal_hashed"',
        'storage = "internal"',
        'log = { { levels = { min = "info" }, to = "console" } }',
        'muc_room_locking = false',
        'muc_room_default_public_jids = true',
        `plugin_paths = { "${MODULES}" }`,
        'VirtualHost "localhost"',
        'Component "conference.localhost" "muc"',
        ...(limits
          ? [
              '  modules_enabled = { "muc_mam"; "vmops_room_limits" }',
              `  vmops_room_rate = ${limits.perSecond}`,
              `  vmops_room_burst = ${limits.burst}`,
            ]
          : ['  modules_enabled = { "muc_mam" }']),
        'Component "anon.localhost" "muc"',
        '  muc_room_default_public_jids = false',
        '',
      ].join('\n'),
    );

  const launch = async (): Promise<'ok' | 'port-taken'> => {
    const started = spawn('prosody', ['--config', config, '-F'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    const ready = `Activated service 'c2s' on [127.0.0.1]:${port}`;
    const outcome = await new Promise<'ok' | 'port-taken' | 'failed'>((resolve) => {
      const timer = setTimeout(() => resolve('failed'), 15_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes(ready)) {
          clearTimeout(timer);
          resolve('ok');
        } else if (/Failed to open server port|Address already in use/.test(output)) {
          clearTimeout(timer);
          resolve('port-taken');
        }
      };
      started.stdout.on('data', onData);
      started.stderr.on('data', onData);
      started.once('exit', () => {
        clearTimeout(timer);
        resolve('failed');
      });
    });
    if (outcome === 'ok') return 'ok';
    await stopChild(started, { signal: 'SIGKILL' });
    if (outcome === 'port-taken') return 'port-taken';
    throw new Error(`prosody did not start:\n${output}`);
  };

  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    writeConfig();
    try {
      if ((await launch()) === 'ok') break;
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    if (attempt >= 3) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`prosody found no free port:\n${output}`);
    }
  }

  return {
    port,
    service: `xmpp://127.0.0.1:${port}`,
    domain: 'localhost',
    muc: 'conference.localhost',
    anonMuc: 'anon.localhost',
    dir,
    register(name, password) {
      execFileSync('prosodyctl', ['--config', config, 'register', name, 'localhost', password], {
        stdio: 'pipe',
      });
    },
    async kill() {
      if (child) await stopChild(child, { signal: 'SIGKILL' });
    },
    async start() {
      if ((await launch()) !== 'ok') throw new Error(`prosody could not listen on ${port} again:\n${output}`);
    },
    log: () => output,
    async stop() {
      if (child) await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
