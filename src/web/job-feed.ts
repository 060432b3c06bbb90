// Live job views for the console's server-sent events. It follows the notifier's queue events (BullMQ
// QueueEvents read from Redis streams, so jobs run by any worker and asked from any bot instance are
// seen), reads each touched job's view once per burst, and hands it to every open page that follows
// it. A slow poll backs the events up, so a page never stays stale if an event was missed.
import { LRUCache } from 'lru-cache';
import type { JobControl } from '../grammar/command-spec.ts';
import type { Notifier } from '../notifier/notifier.ts';
import type { JobStatusView } from '../types.ts';

export type JobListener = (view: JobStatusView) => void;

/** How many of the most recent jobs the job list shows, and so how many the feed polls. */
export const RECENT_JOBS = 30;

export interface JobFeedOptions {
  notifier: Pick<Notifier, 'on' | 'off'>;
  jobs: Pick<JobControl, 'get' | 'list'>;
  /** Views of a touched job are read at most this often (ms). */
  coalesceMs?: number;
  /** How often the recent jobs are read again while someone watches (ms). */
  pollMs?: number;
}

export class JobFeed {
  readonly #o: JobFeedOptions;
  readonly #listeners = new Set<{ jobId: string | undefined; listener: JobListener }>();
  readonly #due = new Map<string, NodeJS.Timeout>();
  /** The last view handed on of the newest 500 jobs. */
  readonly #last = new LRUCache<string, string>({ max: 500 });
  #poll: NodeJS.Timeout | undefined;
  readonly #onJob = (jobId: string) => this.#touch(jobId);

  constructor(options: JobFeedOptions) {
    this.#o = options;
    options.notifier.on('job', this.#onJob);
  }

  /** Calls `listener` with each new view of `jobId`, or of every job when undefined; returns the unsubscribe. */
  follow(jobId: string | undefined, listener: JobListener): () => void {
    const entry = { jobId, listener };
    this.#listeners.add(entry);
    this.#poll ??= setInterval(() => void this.#pollRecent(), this.#o.pollMs ?? 5000);
    return () => {
      this.#listeners.delete(entry);
      if (this.#listeners.size === 0) {
        clearInterval(this.#poll);
        this.#poll = undefined;
      }
    };
  }

  close(): void {
    this.#o.notifier.off('job', this.#onJob);
    clearInterval(this.#poll);
    for (const timer of this.#due.values()) clearTimeout(timer);
    this.#due.clear();
    this.#listeners.clear();
  }

  #touch(jobId: string): void {
    if (this.#listeners.size === 0 || this.#due.has(jobId)) return;
    const timer = setTimeout(() => {
      this.#due.delete(jobId);
      void this.#o.jobs.get(jobId).then(
        (view) => view && this.#publish(view),
        () => undefined, // Redis away: the next event or poll tries again
      );
    }, this.#o.coalesceMs ?? 150);
    this.#due.set(jobId, timer);
  }

  async #pollRecent(): Promise<void> {
    const views = await this.#o.jobs.list(RECENT_JOBS).catch(() => []);
    for (const view of views) this.#publish(view);
    const followed = new Set([...this.#listeners].flatMap((l) => (l.jobId ? [l.jobId] : [])));
    for (const jobId of followed) this.#touch(jobId);
  }

  /** Hands a view on when it differs from the last one handed on. */
  #publish(view: JobStatusView): void {
    const key = JSON.stringify(view);
    if (this.#last.get(view.jobId) === key) return;
    this.#last.set(view.jobId, key);
    for (const { jobId, listener } of this.#listeners) {
      if (jobId === undefined || jobId === view.jobId) listener(view);
    }
  }
}
