// Every stage queue's events (from any worker, through Redis), as one callback per job that moved:
// started, progressed, finished, failed, removed, waiting (queued, or again) or stalled. The notifier
// redraws the job's status message from Redis on each; the event's name tells a job just queued
// (`waiting`) from one that moved on.
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { StageQueues } from '../queue/stage-queues.ts';
import { bullConnection, type RedisTarget } from '../redis/connect.ts';
import { bullmqVersionChecked } from '../redis/redis-version.ts';

const QUEUE_EVENTS = ['active', 'progress', 'completed', 'failed', 'removed', 'waiting', 'stalled'] as const;
export type QueueEventName = (typeof QUEUE_EVENTS)[number];

export interface QueueEventFeed {
  close(): Promise<void>;
}

/** Subscribes to every queue's events; resolves once every subscription is ready. */
export async function followQueueEvents(
  queues: StageQueues,
  redisUrl: RedisTarget,
  redis: Redis,
  onJob: (jobId: string, event: QueueEventName) => void,
  log: Logger,
): Promise<QueueEventFeed> {
  // The version is read once here, not once per queue's events (issue 17).
  const skipVersionCheck = await bullmqVersionChecked(redis);
  const connection = bullConnection(redisUrl, { name: 'vmops-notifier' });
  const feeds = queues.routes.map(
    ({ name }) =>
      new QueueEvents(name, { connection: connection.connection, prefix: queues.prefix, skipVersionCheck }),
  );
  for (const events of feeds) {
    for (const name of QUEUE_EVENTS) {
      events.on(name, (({ jobId }: { jobId: string }) => onJob(jobId, name)) as never);
    }
    events.on('error', (error) => log.warn({ err: error }, 'queue events error'));
  }
  const close = async () => {
    await Promise.all(feeds.map((e) => e.close()));
    connection.close();
  };
  try {
    await Promise.all(feeds.map((e) => e.waitUntilReady()));
  } catch (error) {
    await close().catch(() => undefined); // nothing left connected when the start fails
    throw error;
  }
  return { close };
}
