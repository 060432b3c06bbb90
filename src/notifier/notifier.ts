// The notifier turns queue events into one status message per job, in the room the command came from,
// edited in place. Edits of one message are coalesced: at most one in flight, none closer together than
// the adapter's minimum interval, and each edit renders the job's current state from Redis, so merged
// edits lose nothing and the final state always arrives. Message references live in Redis and each
// message has one writer at a time, named beside its reference and holding it while its instance's
// lease lives (one key per instance, renewed with one command however many messages it writes), so
// several bot instances never edit the same message twice, and another instance (or a restarted bot)
// takes over when the writer goes away: also before the message was posted, when the reservation's
// holder died (the taker posts it with the same transaction id, so a network that stores by it,
// Matrix, never shows it twice). Every post and edit goes through the outbox, which alone retries; the
// notifier never sends a failed message again. Beside it: queue-event-feed (the events), status-leases
// (references and leases in Redis), thread-details and job-details (what a finished job leaves in its
// thread), notifier-types.
import { EventEmitter } from 'node:events';
import { LRUCache } from 'lru-cache';
import { isRetryable } from '../chat/send-failure.ts';
import { FINAL_STATES, jobView } from '../queue/job-view.ts';
import { renderStatus } from '../render/status-message.ts';
import type { ChatAdapter, ChatTarget, JobData, JobStatusView, MessageRef, Reply } from '../types.ts';
import type { NotifierEvents, NotifierOptions, Tracked } from './notifier-types.ts';
import { followQueueEvents, type QueueEventFeed } from './queue-event-feed.ts';
import {
  CHECK_BATCH,
  type Reservation,
  readStatusMessage,
  StatusLeases,
  type StatusMessage,
} from './status-leases.ts';
import { postThreadDetails } from './thread-details.ts';

const MAX_MISSING = 5;

/** Settled jobs remembered for whenSettled by default: a bot that runs for months must not keep them all. */
const SETTLED_KEPT = 10_000;

export class Notifier extends EventEmitter<NotifierEvents> {
  readonly #options: NotifierOptions;
  readonly #leaseMs: number;
  readonly #leases: StatusLeases;
  readonly #tracked = new Map<string, Tracked>();
  /** Settled jobs, the newest `settledKept` (see #markSettled). */
  readonly #settled: LRUCache<string, true>;
  #feed: QueueEventFeed | undefined;
  #renewal: NodeJS.Timeout | undefined;
  /** Jobs whose message another instance holds: looked at again once that lease could have lapsed. */
  readonly #adoptLater = new Map<string, NodeJS.Timeout>();
  #closed = false;
  /** Status messages this instance reserved and is posting. */
  readonly #posting = new Set<string>();
  /** Jobs whose status message this instance is reserving (announce, before it posts). */
  readonly #reserving = new Set<string>();
  /** Posts this instance has queued, by job (for `posted`). */
  readonly #posts = new Map<string, Promise<void>>();
  /**
   * Jobs this instance just queued, as they were queued, until their status message is drawn or they
   * move on: the first post shows this view instead of reading the job back (one script less a command).
   */
  readonly #queuedView = new Map<string, JobStatusView>();
  /** A renewal of the lease is under way (the next tick skips rather than overlap it). */
  #renewing = false;

  constructor(options: NotifierOptions) {
    super();
    this.#options = options;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#leases = new StatusLeases(options.redis, options.keys, options.instanceId, this.#leaseMs);
    this.#settled = new LRUCache({ max: options.settledKept ?? SETTLED_KEPT });
  }

  /** Subscribes to every stage queue's events and resumes editing messages of unfinished jobs. */
  async start(): Promise<void> {
    const { queues, redisUrl, redis, log } = this.#options;
    this.#feed = await followQueueEvents(
      queues,
      redisUrl,
      redis,
      (jobId, event) => {
        // A job that moved on is drawn from Redis from now on, not as it was queued.
        if (event !== 'waiting') this.#queuedView.delete(jobId);
        this.emit('job', jobId);
        this.touch(jobId);
      },
      log,
    );
    this.#renewal = setInterval(() => void this.#renewLease(), Math.max(50, Math.floor(this.#leaseMs / 3)));
    const known = await this.#leases.jobs();
    for (const jobId of known) this.touch(jobId);
  }

  /**
   * Reserves a job's status message in `target` (once per job, whichever instance gets there first) and
   * queues its post in the outbox; resolves once it is queued, not posted, so handling a command never
   * waits on the room's rate limit. `posted(jobId)` waits for the post.
   */
  async announce(jobId: string, target: ChatTarget): Promise<void> {
    const reservation = this.#reservation(jobId, target);
    this.#reserving.add(jobId);
    const reserved = await this.#leases.reserve(jobId, reservation).catch((error: unknown) => {
      this.#reserving.delete(jobId);
      throw error;
    });
    this.#reserved(jobId, reservation, reserved);
  }

  /**
   * The reservation of a job's status message as a step of another script (the one that queues the
   * job): run it, then give its answer to `announceReserved`.
   */
  reservationStep(
    jobId: string,
    target: ChatTarget,
    queued?: JobData,
  ): { step: { lua: string; keys: string[]; args: string[] }; reservation: Reservation } {
    const reservation = this.#reservation(jobId, target);
    this.#reserving.add(jobId); // until announceReserved: its queue event may come first
    // `queued`: the job as the same script queues it, shown by the first post unless it moves on first.
    if (queued) this.#queuedView.set(jobId, jobView({ data: queued, progress: 0 }, 'waiting'));
    return { step: this.#leases.reserveStep(jobId, reservation), reservation };
  }

  /** Posts a status message reserved by a `reservationStep` (`reserved`: what the step answered). */
  announceReserved(jobId: string, reservation: Reservation, reserved: boolean): void {
    this.#reserved(jobId, reservation, reserved);
  }

  /** Forgets a `reservationStep` whose script did not run it. */
  reservationDropped(jobId: string): void {
    this.#reserving.delete(jobId);
    this.#queuedView.delete(jobId);
  }

  #reservation(jobId: string, target: ChatTarget): Reservation {
    return { by: this.#options.instanceId, target, txnId: `vmops.status.${jobId}.${this.#now()}` };
  }

  /** After a reservation: when it was this instance's, the post is queued in the outbox. */
  #reserved(jobId: string, reservation: Reservation, reserved: boolean): void {
    if (!reserved) {
      this.#reserving.delete(jobId);
      this.#queuedView.delete(jobId);
      return;
    }
    this.#settled.delete(jobId); // a retried job is open again
    const previous = this.#tracked.get(jobId);
    if (previous) clearTimeout(previous.timer);
    this.#tracked.delete(jobId);
    const post = this.#post(jobId, reservation);
    this.#reserving.delete(jobId); // posting now
    this.#posts.set(jobId, post);
    void post.finally(() => {
      if (this.#posts.get(jobId) === post) this.#posts.delete(jobId);
    });
  }

  /** Resolves once the status message of a job this instance announced is posted (or could not be). */
  async posted(jobId: string): Promise<void> {
    await this.#posts.get(jobId);
  }

  /** Posts a reserved status message through the outbox, drawn when it goes out (a waiting job may be done by then). */
  #post(jobId: string, reservation: Reservation): Promise<void> {
    const { adapters, log, outbox } = this.#options;
    const { target } = reservation;
    const adapter = adapters.get(target.network);
    this.#posting.add(jobId);
    let shown: { reply: Reply; state: JobStatusView['state']; trace: string | undefined } | undefined;
    const content = async (): Promise<Reply> => {
      // As it was queued, when nothing has happened to it since; else as Redis has it now.
      const queued = this.#queuedView.get(jobId);
      this.#queuedView.delete(jobId);
      const view = queued ?? (await this.#options.getJob(jobId));
      if (!view) throw new NoJob(jobId);
      const reply = renderStatus(view, this.#now(), this.#options.jobUrl?.(jobId));
      shown = { reply, state: view.state, trace: view.trace };
      return reply;
    };
    const posted = adapter
      ? outbox.send(target, content, { priority: 'reply', txnId: reservation.txnId })
      : Promise.reject(new NoJob(jobId));
    return posted
      .then(async (ref) => {
        // The lease and the reference in one step: another instance that sees the reference sees the lease.
        await this.#leases.recordPosted(jobId, ref);
        this.#posting.delete(jobId);
        if (!adapter || this.#closed) return;
        this.#track(jobId, ref, adapter, {
          lastText: shown?.reply.text ?? '',
          lastSentAt: this.#now(),
          dirty: false,
          lastState: shown?.state,
        });
        log.info(
          { jobId, trace: shown?.trace, network: target.network, state: shown?.state },
          'status message posted',
        );
        this.touch(jobId);
      })
      .catch(async (error: unknown) => {
        this.#posting.delete(jobId);
        this.#queuedView.delete(jobId);
        if (this.#closed && !(error instanceof NoJob)) return; // stopping: another instance takes it over
        await this.#leases.release(jobId);
        if (error instanceof NoJob) return;
        log.error({ err: error, jobId }, 'could not post the status message');
        void this.#settleIfUnannounced(jobId);
      })
      .catch((error: unknown) => log.warn({ err: error, jobId }, 'status message bookkeeping failed'));
  }

  /**
   * Remembers a settled job, the newest SETTLED_KEPT of them: whenSettled of one forgotten looks it up
   * again (its status message is gone and the job is final, or gone too).
   */
  #markSettled(jobId: string): void {
    this.#settled.set(jobId, true);
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
    void this.#adopt(jobId).catch((error: unknown) =>
      this.#options.log.warn({ err: error, jobId }, 'adopt failed'),
    );
  }

  /** Resolves when every given job's final state has been delivered (or the job has no status message). */
  async whenSettled(jobIds: readonly string[]): Promise<void> {
    const waiting = new Set(jobIds.filter((jobId) => !this.#settled.has(jobId)));
    if (waiting.size === 0) return;
    // One listener for the whole set, however many jobs it has.
    await new Promise<void>((resolve) => {
      const onSettled = (id: string) => {
        waiting.delete(id);
        if (waiting.size > 0) return;
        this.off('settled', onSettled);
        resolve();
      };
      this.on('settled', onSettled);
      for (const jobId of [...waiting]) {
        if (this.#settled.has(jobId)) {
          onSettled(jobId);
          continue;
        }
        this.touch(jobId);
        void this.#settleIfUnannounced(jobId);
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#renewal);
    for (const entry of this.#tracked.values()) clearTimeout(entry.timer);
    for (const timer of this.#adoptLater.values()) clearTimeout(timer);
    await this.#feed?.close();
  }

  #track(
    jobId: string,
    ref: MessageRef,
    adapter: ChatAdapter,
    state: Pick<Tracked, 'lastText' | 'lastSentAt' | 'dirty'> & Partial<Pick<Tracked, 'lastState'>>,
  ) {
    this.#tracked.set(jobId, {
      ref,
      adapter,
      lastState: undefined,
      busy: false,
      timer: undefined,
      missing: 0,
      ...state,
    });
  }

  /** Starts editing a message another instance (or an earlier run of this one) posted, if its writer is gone. */
  async #adopt(jobId: string): Promise<void> {
    // Posting it, or reserving it (its post follows): nothing to take over, nothing to read.
    if (this.#posting.has(jobId) || this.#reserving.has(jobId)) return;
    const seen = await this.#leases.read(jobId);
    if (seen === null || this.#tracked.has(jobId) || this.#posting.has(jobId)) return;
    // Only a message this instance can write (its network, a reservation it can read) is taken over.
    if (!this.#writable(seen)) return;
    // A reservation this instance is making is posted by the announce making it: its answer can be read
    // after this one (a command's queue event often arrives first).
    if (this.#reserving.has(jobId)) return;
    // Taking the writing and reading the message in one step: what is read is what this instance now writes.
    const raw = await this.#leases.hold(jobId);
    if (raw === null) return;
    if (raw === 0) {
      // Another instance writes it. If that one is gone, the job's last event may already have passed:
      // look again once its lease could have lapsed (until the message is final and forgotten).
      if (!this.#closed && !this.#adoptLater.has(jobId)) {
        const timer = setTimeout(() => {
          this.#adoptLater.delete(jobId);
          this.touch(jobId);
        }, this.#leaseMs);
        this.#adoptLater.set(jobId, timer);
      }
      return;
    }
    if (this.#tracked.has(jobId) || this.#posting.has(jobId)) return;
    const message = this.#writable(raw);
    if (!message) return;
    const { reservation, ref, adapter } = message;
    if (reservation) {
      // Reserved by an instance that is gone before it posted: post it, under the same transaction id.
      this.#options.log.info(
        { jobId, from: reservation.by },
        'posting a status message another instance reserved',
      );
      void this.#post(jobId, reservation);
      return;
    }
    this.#track(jobId, ref, adapter, { lastText: '', lastSentAt: 0, dirty: true });
    const entry = this.#tracked.get(jobId);
    if (entry) this.#schedule(jobId, entry);
  }

  /** A stored status message and the adapter of its network, if this instance can write it. */
  #writable(value: string): (StatusMessage & { adapter: ChatAdapter }) | undefined {
    const message = readStatusMessage(value);
    if (!message) return undefined;
    const adapter = this.#options.adapters.get(
      message.reservation ? message.reservation.target.network : message.ref.network,
    );
    return adapter ? { ...message, adapter } : undefined;
  }

  /**
   * Renews this instance's lease, which holds every message it writes: one command however many. When
   * it had lapsed (the process stalled), another instance may have taken some messages over: those
   * are looked at, many per round trip, and whichever another instance writes now is left to it.
   */
  async #renewLease(): Promise<void> {
    if (this.#renewing) return;
    this.#renewing = true;
    try {
      if (await this.#leases.renew()) return;
      const posting = new Set(this.#posting);
      const jobs = [...this.#tracked.keys()].filter((jobId) => !posting.has(jobId));
      for (let at = 0; at < jobs.length && !this.#closed; at += CHECK_BATCH) {
        const batch = jobs.slice(at, at + CHECK_BATCH);
        const taken = await this.#leases.othersWrite(batch);
        batch.forEach((jobId, i) => {
          if (taken?.[i]) this.#forget(jobId, false);
        });
      }
    } finally {
      this.#renewing = false;
    }
  }

  #schedule(jobId: string, entry: Tracked): void {
    if (entry.busy || entry.timer || this.#closed) return;
    // One millisecond more than the interval: Node timers may fire a millisecond early by Date.now(),
    // and a network that enforces its limit to the millisecond would refuse the edit.
    const wait = Math.max(0, entry.lastSentAt + entry.adapter.limits.minEditIntervalMs + 1 - this.#now());
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      void this.#flush(jobId, entry);
    }, wait);
  }

  async #flush(jobId: string, entry: Tracked): Promise<void> {
    if (!entry.dirty || this.#closed) return;
    entry.dirty = false;
    entry.busy = true;
    const current = () => this.#tracked.get(jobId) === entry;
    try {
      const view = await this.#options.getJob(jobId);
      if (!current()) return;
      if (!view) {
        // Removed and not yet tombstoned, or long gone: look again a few times, then forget it.
        entry.missing += 1;
        if (entry.missing < MAX_MISSING) entry.dirty = true;
        else this.#forget(jobId, true);
        return;
      }
      entry.missing = 0;
      const reply = renderStatus(view, this.#now(), this.#options.jobUrl?.(jobId));
      // Where a message cannot be edited, each edit is a new message: send one per change of state only.
      const worthIt = entry.adapter.limits.canEdit || view.state !== entry.lastState;
      if (reply.text !== entry.lastText && worthIt) {
        await this.#options.outbox.edit(entry.ref, reply, {
          priority: 'progress',
          final: FINAL_STATES.has(view.state),
        });
        entry.lastText = reply.text;
        entry.lastState = view.state;
        entry.lastSentAt = this.#now();
        this.#options.log.debug({ jobId, trace: view.trace, state: view.state }, 'status message edited');
      }
      if (FINAL_STATES.has(view.state) && current()) {
        this.#options.log.info(
          { jobId, trace: view.trace, network: entry.ref.network, state: view.state },
          'status message final',
        );
        await postThreadDetails(this.#options, jobId, view, entry);
        this.#forget(jobId, true);
        this.#markSettled(jobId);
        this.emit('settled', jobId, view.state);
      }
    } catch (error) {
      // The outbox tried all it should. A refusal is final (deleted message, bot out of the room): the
      // message is left as it is. A passing failure it gave up on is redrawn at the job's next event.
      if (isRetryable(error) && current()) {
        this.#options.log.warn(
          { err: error, jobId },
          'status message edit failed; redrawn at the next change',
        );
      } else {
        this.#options.log.error({ err: error, jobId }, 'status message cannot be edited; giving up on it');
        this.#forget(jobId, true);
        this.emit('abandoned', jobId);
      }
    } finally {
      entry.busy = false;
      if (entry.dirty && current()) this.#schedule(jobId, entry);
    }
  }

  /** Stops editing a message; `done` also removes it from Redis. */
  #forget(jobId: string, done: boolean): void {
    const entry = this.#tracked.get(jobId);
    if (entry) clearTimeout(entry.timer);
    this.#tracked.delete(jobId);
    if (!done) return;
    void this.#leases
      .release(jobId)
      .catch((error: unknown) =>
        this.#options.log.warn({ err: error, jobId }, 'could not forget status message'),
      );
  }

  /** A job that has no status message (its post failed) settles once it is final. */
  /** Called without waiting (queue events, timers): a Redis that is away or closed only ends the check. */
  async #settleIfUnannounced(jobId: string): Promise<void> {
    if (this.#tracked.has(jobId) || this.#posting.has(jobId) || this.#closed) return;
    try {
      const raw = await this.#leases.read(jobId);
      if (raw !== null) return;
      const view = await this.#options.getJob(jobId);
      if (!view || FINAL_STATES.has(view.state)) {
        this.#markSettled(jobId);
        this.emit('settled', jobId, view?.state ?? 'unknown');
      } else {
        setTimeout(() => void this.#settleIfUnannounced(jobId), 1000).unref();
      }
    } catch (error) {
      if (!this.#closed) this.#options.log.debug({ err: error, jobId }, 'could not check an unannounced job');
    }
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}

/** A status message whose job is gone before it could be posted. */
class NoJob extends Error {
  constructor(jobId: string) {
    super(`job ${jobId} is gone`);
    this.name = 'NoJob';
  }
}
