// Opens Redis connections from a redis:// (or rediss://) URL. Connections vmops owns come from
// connectRedis; BullMQ workers and queue events get plain options from redisOptions, so BullMQ owns
// (and closes) their connections. Connections that must not give up while Redis is away use
// maxRetriesPerRequest: null, or a worker silently stops taking jobs.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisConnectOptions {
  /** Blocking or subscriber use (workers, queue events, pub/sub): retry commands forever. */
  blocking?: boolean;
  /** Name shown by CLIENT LIST. */
  name?: string;
  /** Where connection errors go (they are retried; without a listener ioredis prints them). */
  log?: Logger;
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
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5000),
  };
  if (parsed.username) result.username = decodeURIComponent(parsed.username);
  if (parsed.password) result.password = decodeURIComponent(parsed.password);
  if (db) result.db = Number(db);
  if (parsed.protocol === 'rediss:') result.tls = {};
  return result;
}

export function connectRedis(url: string, options: RedisConnectOptions = {}): Redis {
  const redis = new Redis(redisOptions(url, options));
  let reported = false;
  redis.on('error', (error: Error) => {
    if (reported) return; // one line per outage, not one per reconnect attempt
    reported = true;
    options.log?.warn({ err: error, connection: options.name }, 'redis connection error; retrying');
  });
  redis.on('ready', () => {
    reported = false;
  });
  return redis;
}
