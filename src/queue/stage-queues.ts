// The BullMQ queues and the only place that knows their names. Stages that work on one format have a
// queue per format (`build.kvm`), so a worker takes only the formats it can make; stages that work on
// a whole version have one queue (`deploy`). Besides them, one queue holds the ticks of the schedules.
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobData, JobResult, Stage } from '../types.ts';
import { STAGES } from '../types.ts';

export type StageQueue = Queue<JobData, JobResult, Stage>;

/** The queue of schedule ticks (src/schedules/schedule-runner.ts); no stage queue can have this name. */
export const SCHEDULE_QUEUE = 'schedules';

/** Stages that run once per format; the others run once per version. */
export const FORMAT_STAGES: ReadonlySet<Stage> = new Set(['build', 'test', 'publish']);

export interface QueueRoute {
  stage: Stage;
  /** The format, for per-format stages. */
  format?: string;
  name: string;
}

export function queueName(stage: Stage, format: string | undefined): string {
  return FORMAT_STAGES.has(stage) && format !== undefined ? `${stage}.${format}` : stage;
}

/** Every queue for these stages and formats. */
export function queueRoutes(stages: readonly Stage[], formats: readonly string[]): QueueRoute[] {
  return stages.flatMap((stage) =>
    FORMAT_STAGES.has(stage)
      ? formats.map((format) => ({ stage, format, name: queueName(stage, format) }))
      : [{ stage, name: queueName(stage, undefined) }],
  );
}

export interface StageQueues {
  readonly prefix: string;
  /** The queue a job goes to. */
  queue(stage: Stage, format: string | undefined): StageQueue;
  /** The queue of a name from the job index. */
  byName(name: string): StageQueue | undefined;
  /** Every queue, for queue events. */
  readonly routes: readonly QueueRoute[];
  close(): Promise<void>;
}

export interface StageQueueOptions {
  connection: Redis;
  prefix: string;
  /** Every format of every product in config. */
  formats: readonly string[];
  /** Attempts per job (a job whose worker died is run again while attempts remain). */
  attempts: number;
  /** Finished jobs kept for `jobs`, `status`, `log`. */
  keepFinished: number;
  /** How long a finished job is kept at most (ms); unset, only `keepFinished` bounds them. */
  keepFinishedFor?: number | undefined;
}

/** The options every stage job is added with: attempts and the retention of finished jobs. */
export function stageJobOptions(
  options: Pick<StageQueueOptions, 'attempts' | 'keepFinished' | 'keepFinishedFor'>,
) {
  // BullMQ counts the age in seconds.
  const keep = {
    count: options.keepFinished,
    ...(options.keepFinishedFor === undefined ? {} : { age: Math.ceil(options.keepFinishedFor / 1000) }),
  };
  return { attempts: options.attempts, removeOnComplete: keep, removeOnFail: keep, keepLogs: 1000 };
}

export function openStageQueues(options: StageQueueOptions): StageQueues {
  const routes = queueRoutes(STAGES, options.formats);
  const known = new Set(routes.map(({ name }) => name));
  // A queue is made on first use: most of them (a stage of a format nobody asked for yet) are never
  // used by a process, and each costs BullMQ set-up and an INFO round trip (issue 17).
  const queues = new Map<string, StageQueue>();
  const byName = (name: string) => {
    if (!known.has(name)) return undefined;
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue<JobData, JobResult, Stage>(name, {
        connection: options.connection,
        prefix: options.prefix,
        defaultJobOptions: stageJobOptions(options),
      });
      // The queues share the caller's connection, which reports an outage once (src/redis/connect.ts);
      // without a listener BullMQ prints every failed reconnect of every queue to the console.
      queue.on('error', () => undefined);
      queues.set(name, queue);
    }
    return queue;
  };
  return {
    prefix: options.prefix,
    routes,
    byName,
    queue(stage, format) {
      const queue = byName(queueName(stage, format));
      if (!queue) throw new Error(`no queue for ${stage} ${format ?? ''}`);
      return queue;
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

/** Every format named by any product in config. */
export function configuredFormats(products: Record<string, { formats: readonly string[] }>): string[] {
  return [...new Set(Object.values(products).flatMap((p) => p.formats))].sort();
}
