// The notifier's vocabulary: what it is built from, what it tells its listeners, and what it keeps
// about each status message it edits.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Outbox } from '../outbox/outbox.ts';
import type { StageQueues } from '../queue/stage-queues.ts';
import type { RedisTarget } from '../redis/connect.ts';
import type { RedisKeys } from '../redis/keys.ts';
import type { ChatAdapter, JobStatusView, MessageRef } from '../types.ts';

export interface NotifierOptions {
  redis: Redis;
  redisUrl: RedisTarget;
  keys: RedisKeys;
  queues: StageQueues;
  adapters: ReadonlyMap<string, ChatAdapter>;
  /** Where every post and edit goes (paced, merged, retried there only). */
  outbox: Outbox;
  /** Current view of a job (undefined when unknown). */
  getJob(jobId: string): Promise<JobStatusView | undefined>;
  /** This bot instance, as the holder of writer leases. */
  instanceId: string;
  log: Logger;
  now?: () => number;
  /** How long a writer lease lasts without renewal (ms). */
  leaseMs?: number;
  /** How many settled jobs are remembered for whenSettled (default 10,000); older ones are looked up again. */
  settledKept?: number;
  /** What goes in a finished job's thread (a failure's log tail, a test report), on networks with threads. */
  details?(view: JobStatusView): Promise<string | undefined>;
  /** The web console's page of a job, linked from its status message (web.publicUrl). */
  jobUrl?(jobId: string): string;
}

export interface NotifierEvents {
  /** The final state of a job has been delivered to its room (or the job has no status message). */
  settled: [jobId: string, state: JobStatusView['state'] | 'unknown'];
  /** A status message could not be edited any more (deleted, bot removed from the room); it is left as it is. */
  abandoned: [jobId: string];
  /** A queue event about a job, from any worker (live views such as the web console follow these). */
  job: [jobId: string];
}

export interface Tracked {
  ref: MessageRef;
  adapter: ChatAdapter;
  lastSentAt: number;
  lastText: string;
  /** The state the message last showed; networks that cannot edit get a new message only when it changes. */
  lastState: JobStatusView['state'] | undefined;
  dirty: boolean;
  busy: boolean;
  timer: NodeJS.Timeout | undefined;
  /** Consecutive renders that found no job. */
  missing: number;
}
