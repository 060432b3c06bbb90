// Starts a private redis-server on a free loopback port (local mode, tests, benchmarks) and stops it.
// The server keeps its files in `dir` (made 0700, so its AOF is nobody else's to read); with
// `appendOnly` jobs survive a restart of local mode. With `password`, clients must authenticate: the
// password goes in a 0600 config file, never on the command line (which any user can read in /proc).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { VmopsError } from '../errors.ts';
import { freePort } from './free-port.ts';

export interface RedisServerOptions {
  /** Directory for the server's files (AOF, pid file, log). Created if missing. */
  dir: string;
  /** Port to use; default a free one. */
  port?: number;
  /** Persist with an append-only file (local mode: yes; throwaway test servers: no). */
  appendOnly: boolean;
  /** The redis-server binary. */
  binary?: string;
  /** A password clients must give (local mode: a new random one each start). */
  password?: string;
  /** Called once the server process is spawned, before it is ready (local mode then loads its own code). */
  onSpawn?: () => void;
}

export interface RedisServerHandle {
  /** redis://127.0.0.1:PORT, with the password when there is one (redis://:PASSWORD@127.0.0.1:PORT). */
  url: string;
  port: number;
  /** The server process. */
  process: ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  stop(): Promise<void>;
}

const READY = /Ready to accept connections/;

async function startOnce(options: RedisServerOptions, port: number): Promise<RedisServerHandle> {
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  chmodSync(options.dir, 0o700);
  const configFile = join(options.dir, 'vmops-redis.conf');
  writeFileSync(configFile, options.password === undefined ? '' : `requirepass "${options.password}"\n`, {
    mode: 0o600,
  });
  chmodSync(configFile, 0o600);
  const args = [
    configFile,
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    options.dir,
    '--pidfile',
    join(options.dir, 'redis.pid'),
    '--save',
    '',
    '--appendonly',
    options.appendOnly ? 'yes' : 'no',
    '--maxmemory-policy',
    'noeviction',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
    '--loglevel',
    'notice',
  ];
  // Its own process group: a Ctrl-C at the terminal is for vmops, which stops Redis last, in order.
  const child = spawn(options.binary ?? 'redis-server', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  options.onSpawn?.();
  const output: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout ?? process.stdin });
    lines.on('line', (line) => {
      output.push(line);
      if (output.length > 40) output.shift();
      if (READY.test(line)) resolve();
    });
    child.once('error', (error) =>
      reject(
        new VmopsError(
          'redis_unavailable',
          (error as NodeJS.ErrnoException).code === 'ENOENT'
            ? 'redis-server is not installed: install it with `apt-get install redis-server`, or set redis.url'
            : `cannot start redis-server: ${error.message}`,
        ),
      ),
    );
    child.once('exit', (code, signal) =>
      reject(
        new VmopsError(
          'redis_unavailable',
          `redis-server exited at start (${signal ?? `code ${code}`}):\n${output.slice(-5).join('\n')}`,
        ),
      ),
    );
  });
  child.stderr?.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  try {
    await ready;
  } finally {
    clearTimeout(timer);
  }
  let stopping: Promise<void> | undefined;
  return {
    url:
      options.password === undefined
        ? `redis://127.0.0.1:${port}`
        : `redis://:${encodeURIComponent(options.password)}@127.0.0.1:${port}`,
    port,
    process: child,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      })();
      return stopping;
    },
  };
}

/** Starts redis-server and resolves once it accepts connections. Retries another port if one is taken. */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisServerHandle> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await startOnce(options, port);
    } catch (error) {
      lastError = error;
      const text = error instanceof Error ? error.message : String(error);
      if (options.port !== undefined || !/Address already in use/i.test(text)) throw error;
    }
  }
  throw lastError;
}
