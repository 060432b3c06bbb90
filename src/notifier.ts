// The notifier turns queue events into one status message per job, in the room the command came from,
// edited in place. Edits of one message are coalesced: at most one in flight, none closer together than
// the adapter's minimum interval, and each edit renders the job's current state from Redis, so merged
// edits lose nothing and the final state always arrives. Message references live in Redis, so a
// restarted bot (or another instance) can keep editing.
import { EventEmitter } from 'node:events';
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { FINAL_STATES } from './jobs/job-view.ts';
import type { StageQueues } from './jobs/stage-queues.ts';
import { redisOptions } from './redis/connect.ts';
import type { RedisKeys } from './redis/keys.ts';
import { renderStatus } from './render/status-message.ts';
import type { ChatAdapter, ChatTarget, JobStatusView, MessageRef } from './types.ts';

export interface NotifierOptions {
  redis: Redis;
  redisUrl: string;
  keys: RedisKeys;
  queues: StageQueues;
  adapters: ReadonlyMap<string, ChatAdapter>;
  /** Current view of a job (undefined when unknown). */
  getJob(jobId: string): Promise<JobStatusView | undefined>;
  log: Logger;
  now?: () => number;
}

interface NotifierEvents {
  /** The final state of a job has been delivered to its room. */
  settled: [jobId: string, state: JobStatusView['state'] | 'unknown'];
}

interface Tracked {
  ref: MessageRef;
  adapter: ChatAdapter;
  lastSentAt: number;
  lastText: string;
  dirty: boolean;
  busy: boolean;
  timer: NodeJS.Timeout | undefined;
  missing: number;
}

const SEND_ATTEMPTS = 5;
const PENDING = 'pending';

export class Notifier extends EventEmitter<NotifierEvents> {
  readonly #options: NotifierOptions;
  readonly #tracked = new Map<string, Tracked>();
  readonly #settled = new Set<string>();
  #events: QueueEvents[] = [];
  #closed = false;

  constructor(options: NotifierOptions) {
    super();
    this.#options = options;
  }

  /** Subscribes to every stage queue's events and resumes editing messages of unfinished jobs. */
  async start(): Promise<void> {
    const { queues, redisUrl } = this.#options;
    this.#events = queues.names.map(
      ({ name }) =>
        new QueueEvents(name, {
          connection: redisOptions(redisUrl, { blocking: true, name: 'vmops-notifier' }),
          prefix: queues.prefix,
        }),
    );
    for (const events of this.#events) {
      const touch = ({ jobId }: { jobId: string }) => this.touch(jobId);
      for (const name of [
        'active',
        'progress',
        'completed',
        'failed',
        'removed',
        'waiting',
        'stalled',
      ] as const) {
        events.on(name, touch as never);
      }
      events.on('error', (error) => this.#options.log.warn({ err: error }, 'queue events error'));
    }
    await Promise.all(this.#events.map((e) => e.waitUntilReady()));
    const known = await this.#options.redis.hkeys(this.#options.keys.statusMessages);
    for (const jobId of known) this.touch(jobId);
  }

  /** Posts a job's status message in `target` (once per job, whichever instance gets there first). */
  async announce(jobId: string, target: ChatTarget): Promise<void> {
    const { redis, keys, adapters, log } = this.#options;
    const first = await redis.hsetnx(keys.statusMessages, jobId, PENDING);
    if (first === 0) return;
    this.#settled.delete(jobId); // a retried job is open again
    const adapter = adapters.get(target.network);
    const view = await this.#options.getJob(jobId);
    if (!adapter || !view) {
      await redis.hdel(keys.statusMessages, jobId);
      return;
    }
    const reply = renderStatus(view, this.#now());
    try {
      const ref = await this.#withRetries(() => adapter.send(target, reply));
      await redis.hset(keys.statusMessages, jobId, JSON.stringify(ref));
      this.#tracked.set(jobId, {
        ref,
        adapter,
        lastSentAt: this.#now(),
        lastText: reply.text,
        dirty: false,
        busy: false,
        timer: undefined,
        missing: 0,
      });
      this.touch(jobId);
    } catch (error) {
      await redis.hdel(keys.statusMessages, jobId);
      log.error({ err: error, jobId }, 'could not post the status message');
    }
  }

  /** Something happened to a job: redraw its status message soon. */
  touch(jobId: string): void {
    if (this.#closed) return;
    const entry = this.#tracked.get(jobId);
    if (entry) {
      entry.dirty = true;
      this.#schedule(jobId, entry);
      return;
    }
    void this.#adopt(jobId);
  }

  /** Resolves when every given job's final state has been delivered (or the job has no status message). */
  async whenSettled(jobIds: readonly string[]): Promise<void> {
    await Promise.all(
      jobIds.map(
        (jobId) =>
          new Promise<void>((resolve) => {
            if (this.#settled.has(jobId)) return resolve();
            const onSettled = (id: string) => {
              if (id !== jobId) return;
              this.off('settled', onSettled);
              resolve();
            };
            this.on('settled', onSettled);
            this.touch(jobId);
            void this.#settleIfUnannounced(jobId);
          }),
      ),
    );
  }

  /** A job that has no status message (its post failed) settles once it is final. */
  async #settleIfUnannounced(jobId: string): Promise<void> {
    if (this.#tracked.has(jobId)) return;
    const raw = await this.#options.redis.hget(this.#options.keys.statusMessages, jobId);
    if (raw !== null) return;
    const view = await this.#options.getJob(jobId);
    if (!view || FINAL_STATES.has(view.state)) {
      this.#settled.add(jobId);
      this.emit('settled', jobId, view?.state ?? 'unknown');
    } else {
      setTimeout(() => void this.#settleIfUnannounced(jobId), 1000).unref();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const entry of this.#tracked.values()) clearTimeout(entry.timer);
    await Promise.all(this.#events.map((e) => e.close()));
  }

  /** Starts editing a message another process (or an earlier run of this one) posted. */
  async #adopt(jobId: string): Promise<void> {
    const raw = await this.#options.redis.hget(this.#options.keys.statusMessages, jobId);
    if (raw === null || raw === PENDING || this.#tracked.has(jobId)) return;
    const ref = JSON.parse(raw) as MessageRef;
    const adapter = this.#options.adapters.get(ref.network);
    if (!adapter) return;
    const entry: Tracked = {
      ref,
      adapter,
      lastSentAt: 0,
      lastText: '',
      dirty: true,
      busy: false,
      timer: undefined,
      missing: 0,
    };
    this.#tracked.set(jobId, entry);
    this.#schedule(jobId, entry);
  }

  #schedule(jobId: string, entry: Tracked): void {
    if (entry.busy || entry.timer || this.#closed) return;
    const wait = Math.max(0, entry.lastSentAt + entry.adapter.limits.minEditIntervalMs - this.#now());
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      void this.#flush(jobId, entry);
    }, wait);
  }

  async #flush(jobId: string, entry: Tracked): Promise<void> {
    if (!entry.dirty || this.#closed) return;
    entry.dirty = false;
    entry.busy = true;
    let view: JobStatusView | undefined;
    try {
      view = await this.#options.getJob(jobId);
      if (!view) {
        // Removed and not yet tombstoned, or expired: look again a few times, then forget it.
        entry.missing += 1;
        if (entry.missing < 5) entry.dirty = true;
        else this.#tracked.delete(jobId);
        return;
      }
      const reply = renderStatus(view, this.#now());
      if (reply.text !== entry.lastText) {
        await this.#withRetries(() => entry.adapter.edit(entry.ref, reply));
        entry.lastText = reply.text;
        entry.lastSentAt = this.#now();
      }
      if (FINAL_STATES.has(view.state)) {
        this.#tracked.delete(jobId);
        await this.#options.redis.hdel(this.#options.keys.statusMessages, jobId);
        this.#settled.add(jobId);
        this.emit('settled', jobId, view.state);
      }
    } catch (error) {
      this.#options.log.warn({ err: error, jobId }, 'status message edit failed');
      entry.dirty = true;
    } finally {
      entry.busy = false;
      if (entry.dirty && this.#tracked.has(jobId)) this.#schedule(jobId, entry);
    }
  }

  async #withRetries<T>(send: () => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (let attempt = 0; attempt < SEND_ATTEMPTS; attempt++) {
      try {
        return await send();
      } catch (error) {
        lastError = error;
        const retryAfter = (error as { retryAfterMs?: number }).retryAfterMs;
        await new Promise((resolve) => setTimeout(resolve, retryAfter ?? 250 * 2 ** attempt));
      }
    }
    throw lastError;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}
