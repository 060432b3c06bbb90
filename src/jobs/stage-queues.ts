// The BullMQ queues, one per stage, under the configured prefix. The only place that knows queue
// names: everything else asks for a stage's queue.
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type JobData, type JobResult, STAGES, type Stage } from '../types.ts';

export type StageQueue = Queue<JobData, JobResult, Stage>;

export interface StageQueues {
  readonly prefix: string;
  /** The queue of a stage. */
  queue(stage: Stage): StageQueue;
  /** Every stage's queue name, for workers and queue events. */
  readonly names: readonly { stage: Stage; name: string }[];
  close(): Promise<void>;
}

export interface StageQueueOptions {
  connection: Redis;
  prefix: string;
  /** Attempts per job (a job whose worker died is run again while attempts remain). */
  attempts: number;
  /** Finished jobs kept for `jobs`, `status`, `log`. */
  keepFinished: number;
}

export function queueName(stage: Stage): string {
  return stage;
}

export function openStageQueues(options: StageQueueOptions): StageQueues {
  const queues = new Map<Stage, StageQueue>();
  for (const stage of STAGES) {
    queues.set(
      stage,
      new Queue<JobData, JobResult, Stage>(queueName(stage), {
        connection: options.connection,
        prefix: options.prefix,
        defaultJobOptions: {
          attempts: options.attempts,
          removeOnComplete: { count: options.keepFinished },
          removeOnFail: { count: options.keepFinished },
          keepLogs: 1000,
        },
      }),
    );
  }
  return {
    prefix: options.prefix,
    names: STAGES.map((stage) => ({ stage, name: queueName(stage) })),
    queue(stage) {
      const queue = queues.get(stage);
      if (!queue) throw new Error(`no queue for stage ${stage}`);
      return queue;
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
