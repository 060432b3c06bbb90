// Opens ioredis connections from a redis:// URL. Connections for BullMQ workers and subscribers must
// not give up on commands while Redis is away (maxRetriesPerRequest: null), or a worker silently stops.
import { Redis } from 'ioredis';

export interface RedisConnectOptions {
  /** Blocking or subscriber use (workers, queue events, pub/sub): retry commands forever. */
  blocking?: boolean;
  /** Name shown by CLIENT LIST. */
  name?: string;
}

export function connectRedis(url: string, options: RedisConnectOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: options.blocking ? null : 20,
    enableReadyCheck: true,
    connectionName: options.name ?? 'vmops',
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5000),
  });
}
