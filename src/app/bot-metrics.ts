// What the bot's metrics registry reads when /metrics is scraped: job counts per stage queue, live
// workers, which networks are up, whether Redis is.
import type { Redis } from 'ioredis';
import type { MetricsSink } from '../observability/metrics-sink.ts';
import { liveAgents } from '../queue/agent-presence.ts';
import { SCHEDULE_QUEUE, type StageQueues } from '../queue/stage-queues.ts';
import type { RedisKeys } from '../redis/keys.ts';
import type { ChatAdapter } from '../types.ts';

/** Attaches the bot's sources to `metrics`; returns the detach. */
export function attachBotMetrics(
  metrics: MetricsSink,
  parts: { queues: StageQueues; redis: Redis; keys: RedisKeys; adapters: ReadonlyMap<string, ChatAdapter> },
): () => void {
  const { queues, redis, keys, adapters } = parts;
  return metrics.attach({
    jobCounts: () =>
      Promise.all(
        queues.routes
          .filter((route) => route.name !== SCHEDULE_QUEUE)
          .map(async (route) => ({
            queue: route.name,
            stage: route.stage,
            counts: (await queues.byName(route.name)?.getJobCounts()) ?? {},
          })),
      ),
    workers: () => liveAgents(redis, keys),
    networks: () =>
      [...adapters.values()].map((adapter) => ({
        network: adapter.network,
        up: adapter.connected?.() ?? true,
      })),
    redisUp: () => redis.status === 'ready',
  });
}
