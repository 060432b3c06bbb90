// Opens Redis connections for the configured topology: a redis:// (or rediss://) URL, a Sentinel set-up
// (ioredis asks the sentinels for the current primary and follows failovers), or a Cluster (ioredis
// follows the slot map). Connections vmops owns come from connectRedis; BullMQ workers and queue events
// get theirs from bullConnection, so BullMQ owns (and closes) what it opens. Connections that must not
// give up while Redis is away use maxRetriesPerRequest: null, or a worker silently stops taking jobs.
import type { ConnectionOptions } from 'bullmq';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { coalesceConnection } from './coalesce-writes.ts';

/** ioredis options without replyMapping (its type and the constructors' disagree under exactOptionalPropertyTypes). */
type ConnectOptions = Omit<RedisOptions, 'replyMapping'>;
type NodeOptions = Omit<NonNullable<ClusterOptions['redisOptions']>, 'replyMapping'>;
type ClusterConnectOptions = Omit<ClusterOptions, 'redisOptions'> & { redisOptions: NodeOptions };

export interface RedisConnectOptions {
  /** Blocking or subscriber use (workers, queue events, pub/sub): retry commands forever. */
  blocking?: boolean;
  /** Name shown by CLIENT LIST. */
  name?: string;
  /** Where connection errors go (they are retried; without a listener ioredis prints them). */
  log?: Logger;
}

/** A Redis node's address, as config gives it: `host:port` or `{ host, port }`. */
export interface RedisNodeAddress {
  host: string;
  port: number;
}

/** `redis.sentinel` from config: a primary and its replicas watched by sentinels. */
export interface RedisSentinelTarget {
  /** The primary's name in the sentinels' configuration (`sentinel monitor <name> …`). */
  name: string;
  sentinels: RedisNodeAddress[];
  /** ACL user and password of the primary and replicas. */
  username?: string | undefined;
  password?: string | undefined;
  /** Password of the sentinels themselves (`requirepass` in sentinel.conf), when they have one. */
  sentinelPassword?: string | undefined;
  db?: number | undefined;
  /** TLS to the sentinels and to the Redis nodes. */
  tls?: boolean | undefined;
}

/** `redis.cluster` from config: seed nodes of a Redis Cluster. */
export interface RedisClusterTarget {
  nodes: RedisNodeAddress[];
  username?: string | undefined;
  password?: string | undefined;
  tls?: boolean | undefined;
}

/** Where Redis is: a URL (one server), or a Sentinel or Cluster topology from config. */
export type RedisTarget = string | { sentinel: RedisSentinelTarget } | { cluster: RedisClusterTarget };

/** The Redis of a config: VMOPS_REDIS_URL, else redis.url, redis.sentinel or redis.cluster; undefined: none. */
export function redisTargetOf(
  redis: {
    url?: string | undefined;
    sentinel?: RedisSentinelTarget | undefined;
    cluster?: RedisClusterTarget | undefined;
  },
  env: NodeJS.ProcessEnv = process.env,
): RedisTarget | undefined {
  if (env.VMOPS_REDIS_URL) return env.VMOPS_REDIS_URL;
  if (redis.url) return redis.url;
  if (redis.sentinel) return { sentinel: redis.sentinel };
  if (redis.cluster) return { cluster: redis.cluster };
  return undefined;
}

/** A target for logs and messages, without passwords. */
export function describeTarget(target: RedisTarget): string {
  if (typeof target === 'string') {
    try {
      const parsed = new URL(target);
      if (parsed.password) parsed.password = 'redacted';
      return parsed.toString();
    } catch {
      return '[unparseable url]';
    }
  }
  const list = (nodes: RedisNodeAddress[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  if ('sentinel' in target) return `sentinel ${target.sentinel.name}@${list(target.sentinel.sentinels)}`;
  return `cluster ${list(target.cluster.nodes)}`;
}

/** Plain connection options, accepted by ioredis and by BullMQ (which then owns the connection). */
export interface PlainRedisOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: Record<string, never>;
  maxRetriesPerRequest: number | null;
  enableReadyCheck: boolean;
  connectionName: string;
  retryStrategy: (times: number) => number;
}

const retryStrategy = (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 5000);

/** Connection options for a URL; the password never appears in logs because the URL is not kept. */
export function redisOptions(url: string, options: RedisConnectOptions = {}): PlainRedisOptions {
  const parsed = new URL(url);
  const db = parsed.pathname.replace(/^\//, '');
  const result: PlainRedisOptions = {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    maxRetriesPerRequest: options.blocking ? null : 20,
    enableReadyCheck: true,
    connectionName: options.name ?? 'vmops',
    retryStrategy,
  };
  if (parsed.username) result.username = decodeURIComponent(parsed.username);
  if (parsed.password) result.password = decodeURIComponent(parsed.password);
  if (db) result.db = Number(db);
  if (parsed.protocol === 'rediss:') result.tls = {};
  return result;
}

/**
 * Options for a Sentinel set-up: ioredis asks the sentinels for the primary, reconnects to the new
 * one after a failover (failoverDetector hears `+switch-master` at once), and a write refused with
 * READONLY (an old primary that came back as a replica) makes it reconnect and resend.
 */
export function sentinelOptions(
  target: RedisSentinelTarget,
  options: RedisConnectOptions = {},
): ConnectOptions {
  const result: ConnectOptions = {
    sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
    name: target.name,
    role: 'master',
    failoverDetector: true,
    maxRetriesPerRequest: options.blocking ? null : 20,
    enableReadyCheck: true,
    connectionName: options.name ?? 'vmops',
    retryStrategy,
    sentinelRetryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    reconnectOnError: (error: Error) => (error.message.startsWith('READONLY') ? 2 : false),
  };
  if (target.username !== undefined) result.username = target.username;
  if (target.password !== undefined) result.password = target.password;
  if (target.sentinelPassword !== undefined) result.sentinelPassword = target.sentinelPassword;
  if (target.db !== undefined) result.db = target.db;
  if (target.tls) {
    result.tls = {};
    result.enableTLSForSentinelMode = true;
    result.sentinelTLS = {};
  }
  return result;
}

/** Options for a Cluster connection (the node connections' options go under redisOptions). */
export function clusterOptions(
  target: RedisClusterTarget,
  options: RedisConnectOptions = {},
): ClusterConnectOptions {
  const node: NodeOptions = {
    maxRetriesPerRequest: options.blocking ? null : 20,
    connectionName: options.name ?? 'vmops',
  };
  if (target.username !== undefined) node.username = target.username;
  if (target.password !== undefined) node.password = target.password;
  if (target.tls) node.tls = {};
  return {
    redisOptions: node,
    enableReadyCheck: true,
    clusterRetryStrategy: retryStrategy,
    // A node that went away (failover, restart): ask again for the slot map soon.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 200,
    slotsRefreshTimeout: 2000,
  };
}

function watchErrors(redis: Redis | Cluster, options: RedisConnectOptions): void {
  let reported = false;
  redis.on('error', (error: Error) => {
    if (reported) return; // one line per outage, not one per reconnect attempt
    reported = true;
    options.log?.warn({ err: error, connection: options.name }, 'redis connection error; retrying');
  });
  redis.on('ready', () => {
    reported = false;
  });
}

/**
 * A connection vmops owns and closes. On a Cluster this is an ioredis Cluster, typed as Redis: both
 * have the same command interface (RedisCommander), and vmops uses only commands, MULTI, pipelines,
 * EVAL, pub/sub, duplicate, quit and disconnect, which a Cluster has too. Every key of one MULTI or
 * script shares the prefix's hash tag, so on a Cluster they are in one slot (see src/redis/keys.ts).
 */
export function connectRedis(target: RedisTarget, options: RedisConnectOptions = {}): Redis {
  let redis: Redis | Cluster;
  if (typeof target === 'string') redis = new Redis(redisOptions(target, options));
  else if ('sentinel' in target) redis = new Redis(sentinelOptions(target.sentinel, options));
  else
    redis = new Cluster(
      target.cluster.nodes.map(({ host, port }) => ({ host, port })),
      clusterOptions(target.cluster, options),
    );
  watchErrors(redis, options);
  if (redis instanceof Cluster) redis.on('+node', (node: Redis) => coalesceConnection(node));
  else coalesceConnection(redis);
  return redis as Redis;
}

/** A connection for a BullMQ Worker or QueueEvents; `close` after the BullMQ object has closed. */
export interface BullConnection {
  connection: ConnectionOptions;
  close(): void;
}

/**
 * Connection for BullMQ's blocking users (Worker, QueueEvents). A URL or a Sentinel set-up is given as
 * plain options, so BullMQ opens and closes its own connections, as before. A Cluster cannot be
 * given as options: BullMQ gets a Cluster instance, duplicates it for its blocking connection (and
 * closes the duplicate), and uses the instance itself for a Worker's other commands; `close` ends it.
 */
export function bullConnection(target: RedisTarget, options: RedisConnectOptions = {}): BullConnection {
  const blocking = { ...options, blocking: true };
  if (typeof target === 'string')
    return { connection: redisOptions(target, blocking), close: () => undefined };
  if ('sentinel' in target) {
    const connection = sentinelOptions(target.sentinel, blocking) as ConnectionOptions;
    return { connection, close: () => undefined };
  }
  const cluster = new Cluster(
    target.cluster.nodes.map(({ host, port }) => ({ host, port })),
    { ...clusterOptions(target.cluster, blocking), lazyConnect: true },
  );
  watchErrors(cluster, options);
  return { connection: cluster as unknown as ConnectionOptions, close: () => cluster.disconnect() };
}
