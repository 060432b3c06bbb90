// The matrix adapter's outbox. Every event the bot sends goes through one queue per account, because
// a homeserver's message rate limit (Synapse's rc_message, 0.2/s with a burst of 10 by default) counts
// per user, across rooms. The queue paces sends by a leaky bucket of the configured size, so bursts
// stay under the limit; a 429 M_LIMIT_EXCEEDED waits retry_after_ms and sends the same event again
// (same txnId, so the homeserver never stores it twice); nothing is dropped for a rate limit. Edits of
// one message that wait in the queue merge into the latest, so the final state goes out and
// intermediate ones do not pile up. Sends are in order (per room, and overall).
import type { Logger } from 'pino';

export interface SendQueueOptions {
  /** Sustained sends per second the homeserver allows this account. */
  perSecond: number;
  /** Sends the homeserver allows at once after a quiet time. */
  burst: number;
  /** Sends one event (PUT /rooms/{room}/send/{type}/{txnId}); resolves with its event id. */
  put(roomId: string, type: string, txnId: string, content: Record<string, unknown>): Promise<string>;
  log: Logger;
  /** Attempts for a send that fails for another reason than the rate limit (default 5). */
  attempts?: number;
  /** First wait before such a retry (ms; doubles; default 1000). */
  retryBaseMs?: number;
  now?: () => number;
  /** Told of each 429 and how long it makes the queue wait (ms), for metrics. */
  onRateLimited?: (retryAfterMs: number) => void;
}

interface Waiter {
  resolve(eventId: string): void;
  reject(error: unknown): void;
}

interface Item {
  roomId: string;
  type: string;
  content: Record<string, unknown>;
  txnId: string;
  /** Items with the same key (edits of one message) merge while they wait. */
  mergeKey: string | undefined;
  waiters: Waiter[];
  attempts: number;
}

/** What a failed send says about itself. */
interface SendFailure {
  errcode?: string;
  httpStatus?: number;
  name?: string;
  isRateLimitError?: () => boolean;
  getRetryAfterMs?: () => number | null;
}

export class SendQueueStopped extends Error {
  constructor() {
    super('the matrix adapter stopped before this message could be sent');
    this.name = 'SendQueueStopped';
  }
}

let txnCounter = 0;

export class SendQueue {
  readonly #o: SendQueueOptions;
  readonly #items: Item[] = [];
  #inFlight: Item | undefined;
  /** Leaky bucket: how full it was at `#at`. */
  #level = 0;
  #at: number;
  #running: Promise<void> | undefined;
  #active = false;
  #stopped = false;
  #sleep: { timer: NodeJS.Timeout; wake(): void } | undefined;
  /** 429 answers received, for logs and tests. */
  rateLimited = 0;
  /** Events sent. */
  sent = 0;

  constructor(options: SendQueueOptions) {
    if (!(options.perSecond > 0) || !(options.burst >= 1)) {
      throw new Error('the matrix rate limit needs perSecond > 0 and burst >= 1');
    }
    this.#o = options;
    this.#at = this.#now();
  }

  /** Events waiting (not counting the one being sent). */
  get pending(): number {
    return this.#items.length;
  }

  /** Queues an event; resolves with its event id once the homeserver has it. */
  enqueue(
    roomId: string,
    type: string,
    content: Record<string, unknown>,
    mergeKey?: string,
  ): Promise<string> {
    if (this.#stopped) return Promise.reject(new SendQueueStopped());
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      if (mergeKey !== undefined) {
        const waiting = this.#items.find((i) => i.mergeKey === mergeKey && i !== this.#inFlight);
        if (waiting) {
          waiting.content = content;
          waiting.waiters.push(waiter);
          return;
        }
      }
      txnCounter += 1;
      this.#items.push({
        roomId,
        type,
        content,
        txnId: `vmops.${this.#now()}.${process.pid}.${txnCounter}`,
        mergeKey,
        waiters: [waiter],
        attempts: 0,
      });
      if (!this.#active) this.#running = this.#run();
    });
  }

  /** Lets what waits go out for up to `drainMs`, then fails the rest; nothing is sent after it resolves. */
  async stop(drainMs: number): Promise<void> {
    if (this.#stopped) return;
    if (this.#active && this.#running && drainMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#running, new Promise((r) => (timer = setTimeout(r, drainMs)))]);
      clearTimeout(timer);
    }
    this.#stopped = true;
    this.#wakeUp();
    const left = this.#items.splice(0);
    if (left.length > 0)
      this.#o.log.warn({ dropped: left.length }, 'matrix adapter stopped; unsent messages dropped');
    for (const item of left) for (const w of item.waiters) w.reject(new SendQueueStopped());
    // A send on its way ends with its request (the adapter aborts requests that outlive this).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#running, new Promise((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
  }

  /** Sends what waits, in order. Marks itself active and inactive synchronously (the `finally` runs as
   * the loop ends, in the same turn), so an item queued just as it ends starts a new run. */
  async #run(): Promise<void> {
    this.#active = true;
    try {
      while (!this.#stopped) {
        const item = this.#items[0];
        if (!item) break;
        await this.#sleepFor(this.#waitForRoom());
        if (this.#stopped) break;
        this.#inFlight = item;
        item.attempts += 1;
        try {
          const eventId = await this.#o.put(item.roomId, item.type, item.txnId, item.content);
          this.#spend();
          this.sent += 1;
          this.#inFlight = undefined;
          this.#items.shift();
          for (const w of item.waiters) w.resolve(eventId);
        } catch (error) {
          this.#inFlight = undefined;
          const failure = error as SendFailure;
          if (failure.errcode === 'M_LIMIT_EXCEEDED' || failure.isRateLimitError?.() === true) {
            this.rateLimited += 1;
            const retryAfter = failure.getRetryAfterMs?.() ?? 1000;
            this.#o.log.warn(
              { retryAfterMs: retryAfter, room: item.roomId },
              'matrix rate limit reached (429); the message waits and goes out later',
            );
            item.attempts -= 1; // a rate limit is not a failed attempt
            this.#o.onRateLimited?.(Math.max(50, retryAfter));
            await this.#sleepFor(Math.max(50, retryAfter));
            // The homeserver's bucket is full: only one more now, the rest at the sustained rate.
            this.#level = this.#o.burst - 1;
            this.#at = this.#now();
            continue;
          }
          const transient =
            failure.name === 'ConnectionError' ||
            failure.name === 'AbortError' ||
            failure.name === 'TimeoutError' ||
            (failure.httpStatus !== undefined && failure.httpStatus >= 500);
          if (transient && item.attempts < (this.#o.attempts ?? 5) && !this.#stopped) {
            const wait = (this.#o.retryBaseMs ?? 1000) * 2 ** (item.attempts - 1);
            this.#o.log.warn({ err: error, room: item.roomId, wait }, 'matrix send failed; retrying');
            await this.#sleepFor(wait);
            continue;
          }
          this.#items.shift();
          for (const w of item.waiters) w.reject(error);
        }
      }
    } finally {
      this.#active = false;
    }
  }

  /** How long until one more send fits in the bucket (ms). */
  #waitForRoom(): number {
    const level = this.#drained();
    const over = level + 1 - this.#o.burst;
    return over <= 0 ? 0 : Math.ceil((over / this.#o.perSecond) * 1000);
  }

  #drained(): number {
    const now = this.#now();
    this.#level = Math.max(0, this.#level - ((now - this.#at) / 1000) * this.#o.perSecond);
    this.#at = now;
    return this.#level;
  }

  /** Counts a send when its answer arrives: later than the homeserver counted it, so on the safe side. */
  #spend(): void {
    this.#level = this.#drained() + 1;
  }

  #sleepFor(ms: number): Promise<void> {
    if (ms <= 0 || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleep = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleep = { timer, wake };
    });
  }

  #wakeUp(): void {
    this.#sleep?.wake();
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}
