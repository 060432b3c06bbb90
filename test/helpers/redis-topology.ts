// Throwaway Redis topologies on loopback for the scale-out tests, each in its own temp directory on
// free ports: a Sentinel set-up (a primary, a replica, three sentinels) and a three-node Cluster made
// with `redis-cli --cluster create`. Everything is Debian's redis-server (sentinels run it with
// --sentinel). `stop()` kills what is left and removes the directory.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { RedisNodeAddress } from '../../src/redis/connect.ts';
import { freePort } from '../../src/redis/free-port.ts';
import { until } from './until.ts';

const run = promisify(execFile);

export interface RedisProcess {
  port: number;
  process: ChildProcess;
  /** Lines it printed (the last 200). */
  output: string[];
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
}

/** Starts redis-server with `args`, resolves once it prints a line matching `ready`. */
async function spawnRedis(args: string[], port: number, ready: RegExp): Promise<RedisProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server ${args[0]} did not start:\n${output.join('\n')}`)),
      15_000,
    );
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      output.push(line);
      if (output.length > 200) output.shift();
      if (ready.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}):\n${output.join('\n')}`));
    });
  });
  child.stderr?.resume();
  return {
    port,
    process: child,
    output,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function dataArgs(dir: string, port: number, extra: string[] = []): string[] {
  mkdirSync(dir, { recursive: true });
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--maxmemory-policy',
    'noeviction',
    '--daemonize',
    'no',
    ...extra,
  ];
}

/** Runs one command on a node and disconnects. */
async function ask(port: number, ...command: [string, ...(string | number)[]]): Promise<unknown> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await redis.call(...command);
  } finally {
    redis.disconnect();
  }
}

export interface SentinelSetup {
  /** The name the sentinels monitor. */
  name: string;
  sentinels: RedisNodeAddress[];
  primary: RedisProcess;
  replica: RedisProcess;
  /** The primary's port as the sentinels see it now. */
  primaryPort(): Promise<number>;
  stop(): Promise<void>;
}

/** A primary, one replica and three sentinels (quorum 2) that fail over one second after the primary goes. */
export async function startSentinelSetup(): Promise<SentinelSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'vmops-sentinel-'));
  const name = 'vmops';
  const processes: RedisProcess[] = [];
  const stop = async () => {
    for (const p of processes.reverse()) await p.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const primaryPort = await freePort();
    const primary = await spawnRedis(
      dataArgs(join(dir, 'primary'), primaryPort),
      primaryPort,
      /Ready to accept connections/,
    );
    processes.push(primary);
    const replicaPort = await freePort();
    const replica = await spawnRedis(
      dataArgs(join(dir, 'replica'), replicaPort, ['--replicaof', '127.0.0.1', String(primaryPort)]),
      replicaPort,
      /MASTER <-> REPLICA sync: Finished with success/,
    );
    processes.push(replica);
    const sentinels: RedisNodeAddress[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'daemonize no',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      processes.push(await spawnRedis([conf, '--sentinel'], port, /\+monitor master/));
      sentinels.push({ host: '127.0.0.1', port });
    }
    // Failover needs every sentinel to know the replica and the other sentinels (hello messages).
    for (const { port } of sentinels) {
      await until(
        async () => {
          const others = (await ask(port, 'SENTINEL', 'SENTINELS', name)) as unknown[];
          const replicas = (await ask(port, 'SENTINEL', 'REPLICAS', name)) as unknown[];
          return others.length >= 2 && replicas.length >= 1;
        },
        { what: `sentinel ${port} to know the replica and the other sentinels`, intervalMs: 50 },
      );
    }
    return {
      name,
      sentinels,
      primary,
      replica,
      async primaryPort() {
        const [first] = sentinels;
        const addr = (await ask(first?.port ?? 0, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as string[];
        return Number(addr[1]);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface ClusterSetup {
  nodes: RedisNodeAddress[];
  stop(): Promise<void>;
}

/** Three primaries, no replicas, made into a Cluster with `redis-cli --cluster create`. */
export async function startCluster(): Promise<ClusterSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'vmops-cluster-'));
  const processes: RedisProcess[] = [];
  const stop = async () => {
    for (const p of processes.reverse()) await p.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const nodes: RedisNodeAddress[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const nodeDir = join(dir, `node-${i}`);
      processes.push(
        await spawnRedis(
          dataArgs(nodeDir, port, [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(nodeDir, 'nodes.conf'),
            '--cluster-node-timeout',
            '2000',
          ]),
          port,
          /Ready to accept connections/,
        ),
      );
      nodes.push({ host: '127.0.0.1', port });
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const { port } of nodes) {
      await until(async () => /cluster_state:ok/.test(String(await ask(port, 'CLUSTER', 'INFO'))), {
        what: `cluster node ${port} to report cluster_state:ok`,
        intervalMs: 50,
      });
    }
    return { nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
