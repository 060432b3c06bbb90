// Continuous builds: the schedules as BullMQ job schedulers, and the worker that runs their ticks.
import { type Job, Queue, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { JobControl } from '../grammar/command-spec.ts';
import { SCHEDULE_QUEUE } from '../queue/stage-queues.ts';
import { bullConnection, type RedisTarget } from '../redis/connect.ts';
import { runScheduleTick, type TickOutcome } from './schedule-tick.ts';

/** The data of a tick job: which schedule it belongs to. */
export interface TickData {
  schedule: string;
}

export type ScheduleQueue = Queue<TickData, TickOutcome, string>;

export interface ScheduleRunnerOptions {
  config: Config;
  /** Connection the queue uses (the bot's shared one). */
  connection: Redis;
  /** For the worker's own blocking connection. */
  redisUrl: RedisTarget;
  jobs: JobControl;
  instanceId: string;
  log: Logger;
  /** How often a tick looks at its builds (ms; default 1 s). */
  pollMs?: number;
  /** How long a tick waits for its builds (ms; default 2 h). */
  waitLimitMs?: number;
}

export interface ScheduleRunner {
  readonly queue: ScheduleQueue;
  close(): Promise<void>;
}

const KEEP_TICKS = 100;
const MAX_CONCURRENT_TICKS = 16;

/** Makes the job schedulers match config: one per schedule, none for schedules that are gone. */
export async function syncSchedulers(queue: ScheduleQueue, config: Config, log: Logger): Promise<void> {
  for (const [name, spec] of Object.entries(config.schedules)) {
    await queue.upsertJobScheduler(
      name,
      { pattern: spec.cron, ...(spec.timezone === undefined ? {} : { tz: spec.timezone }) },
      {
        name,
        data: { schedule: name },
        opts: { removeOnComplete: { count: KEEP_TICKS }, removeOnFail: { count: KEEP_TICKS } },
      },
    );
  }
  for (const scheduler of await queue.getJobSchedulers()) {
    if (scheduler.key in config.schedules) continue;
    await queue.removeJobScheduler(scheduler.key);
    log.info({ schedule: scheduler.key }, 'removed the scheduler of a schedule no longer in config');
  }
}

/**
 * Syncs the schedulers with config and starts a worker in the bot that runs each tick once across all
 * bot instances (BullMQ does the timing). When the bot stops mid-tick, the tick goes back to the queue
 * for another instance (or the next start), which picks it up where job control left it.
 */
export async function startScheduleRunner(options: ScheduleRunnerOptions): Promise<ScheduleRunner> {
  const { config, log } = options;
  const queue: ScheduleQueue = new Queue<TickData, TickOutcome, string>(SCHEDULE_QUEUE, {
    connection: options.connection,
    prefix: config.redis.prefix,
  });
  queue.on('error', () => undefined); // its connection reports outages itself (src/redis/connect.ts)
  await syncSchedulers(queue, config, log);
  const names = Object.keys(config.schedules);
  const running = new Set<AbortController>();

  const processTick = async (job: Job<TickData, TickOutcome, string>, token?: string) => {
    const controller = new AbortController();
    running.add(controller);
    try {
      const tickId = job.id ?? `${job.data.schedule}:${job.timestamp}`;
      const outcome = await runScheduleTick(
        {
          config,
          jobs: options.jobs,
          log,
          pollMs: options.pollMs ?? 1000,
          waitLimitMs: options.waitLimitMs ?? 2 * 3600_000,
          signal: controller.signal,
        },
        job.data.schedule,
        tickId,
      );
      log.info({ ...outcome, tick: tickId }, 'schedule tick done');
      return outcome;
    } catch (error) {
      if (!controller.signal.aborted || token === undefined) throw error;
      await job.moveToWait(token); // the bot is stopping: another instance (or the next start) runs it again
      throw new WaitingError();
    } finally {
      running.delete(controller);
    }
  };

  const connection = bullConnection(options.redisUrl, { name: 'vmops-schedules' });
  const worker =
    names.length === 0
      ? undefined
      : new Worker<TickData, TickOutcome, string>(SCHEDULE_QUEUE, processTick, {
          connection: connection.connection,
          prefix: config.redis.prefix,
          concurrency: Math.min(names.length, MAX_CONCURRENT_TICKS),
          name: options.instanceId,
        });
  worker?.on('error', (error) => log.warn({ err: error }, 'schedule worker connection error'));
  worker?.on('failed', (job, error) =>
    log.error({ err: error, schedule: job?.data.schedule, tick: job?.id }, 'schedule tick failed'),
  );
  await worker?.waitUntilReady();
  if (names.length > 0) log.info({ schedules: names }, 'schedules ready');

  return {
    queue,
    async close() {
      for (const controller of running) controller.abort(new Error('the bot is stopping'));
      await worker?.close();
      connection.close();
      await queue.close();
    },
  };
}
