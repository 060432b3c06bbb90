// The Slack adapter's outbox: one queue per channel, so replies in a channel keep their order and a
// slow channel never holds up another. Every Web API call is paced by its documented limit before it
// is made (chat.postMessage: about one a second per channel; chat.update: Tier 3, ~50 a minute for the
// whole workspace), so the bot does not provoke 429s; if one comes all the same (another instance on
// the same workspace, a smaller limit than configured), the queue waits the `Retry-After` Slack gave
// and sends the same call again: nothing is dropped for a rate limit. Updates of one message that wait
// merge into the latest, so the final state always goes out and stale ones do not pile up. The Web
// API client itself is built to never retry or wait (`retries: 0`, `rejectRateLimitedCalls`): all
// waiting happens here, where it can be merged, bounded and stopped.

/** A sustained rate and the requests allowed at once after a quiet time. */
export interface Pace {
  perSecond: number;
  burst: number;
}

/** What a call fails with, as @slack/web-api reports it. */
interface CallFailure {
  code?: string;
  retryAfter?: number;
  statusCode?: number;
  data?: { error?: string };
}

export type SlackCall = (method: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>;

export interface SendQueueOptions {
  call: SlackCall;
  /** chat.postMessage per channel (default 1/s, burst 1). */
  postPace: Pace;
  /** chat.update for the whole workspace (default 50/min, burst 3). */
  updatePace: Pace;
  /** Attempts for a call that fails for another reason than a rate limit (default 4). */
  attempts?: number;
  /** First wait before such a retry (ms; doubles; default 500). */
  retryBaseMs?: number;
  /** Told about every 429 (for logs). */
  onRateLimited?: (method: string, channel: string, retryAfterMs: number) => void;
  now?: () => number;
}

export class SendQueueStopped extends Error {
  constructor() {
    super('the slack adapter stopped before this message could be sent');
    this.name = 'SendQueueStopped';
  }
}

/** Errors worth another try (the request did not reach Slack, or Slack had a passing failure). */
const TRANSIENT_PLATFORM = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'ratelimited',
]);

function rateLimitedFor(error: unknown): number | undefined {
  const failure = error as CallFailure | undefined;
  if (failure?.code === 'slack_webapi_rate_limited_error' && typeof failure.retryAfter === 'number') {
    return Math.max(0, failure.retryAfter) * 1000;
  }
  return undefined;
}

export function isTransient(error: unknown): boolean {
  const failure = error as CallFailure | undefined;
  if (failure?.code === 'slack_webapi_request_error') return true;
  if (failure?.code === 'slack_webapi_http_error') return (failure.statusCode ?? 500) >= 500;
  if (failure?.code === 'slack_webapi_platform_error')
    return TRANSIENT_PLATFORM.has(failure.data?.error ?? '');
  return false;
}

/**
 * Generic cell rate algorithm, one request at a time. A request is counted from when its answer came
 * back, which is never earlier than when Slack counted it, so the client's view is the stricter one.
 */
class Pacer {
  readonly #interval: number;
  readonly #tolerance: number;
  /** Theoretical arrival time of the next request. */
  #tat = 0;
  #busy = false;
  readonly #queued: (() => void)[] = [];

  constructor(pace: Pace) {
    this.#interval = 1000 / pace.perSecond;
    this.#tolerance = Math.max(0, pace.burst - 1) * this.#interval;
  }

  /** Waits for the turn to send (one request of a kind at a time). */
  async lock(): Promise<void> {
    while (this.#busy) await new Promise<void>((resolve) => this.#queued.push(resolve));
    this.#busy = true;
  }

  unlock(): void {
    this.#busy = false;
    this.#queued.shift()?.();
  }

  /** How long until a request may go (ms). */
  waitMs(now: number): number {
    return Math.max(0, Math.ceil(this.#tat - this.#tolerance - now));
  }

  counted(at: number): void {
    this.#tat = Math.max(this.#tat, at) + this.#interval;
  }

  /** Nothing before `at` (a Retry-After). */
  pauseUntil(at: number): void {
    this.#tat = Math.max(this.#tat, at + this.#tolerance);
  }
}

interface Waiter {
  resolve(result: Record<string, unknown>): void;
  reject(error: unknown): void;
}

interface Op {
  method: string;
  args: Record<string, unknown>;
  /** Ops with the same key (updates of one message) merge while they wait. */
  mergeKey: string | undefined;
  waiters: Waiter[];
  sending: boolean;
  failures: number;
}

export class SendQueue {
  readonly #o: SendQueueOptions;
  readonly #channels = new Map<string, Op[]>();
  readonly #running = new Set<string>();
  readonly #pacers = new Map<string, Pacer>();
  readonly #sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  readonly #idle = new Set<() => void>();
  #stopped = false;

  constructor(options: SendQueueOptions) {
    this.#o = options;
  }

  /** Calls waiting or in flight. */
  get pending(): number {
    let n = 0;
    for (const ops of this.#channels.values()) n += ops.length;
    return n;
  }

  /**
   * Queues a call for a channel; resolves with Slack's answer. `mergeKey`: a later call with the same key
   * that is queued before this one is sent replaces its arguments (both resolve with the one answer).
   */
  enqueue(
    channel: string,
    method: string,
    args: Record<string, unknown>,
    mergeKey?: string,
  ): Promise<Record<string, unknown>> {
    if (this.#stopped) return Promise.reject(new SendQueueStopped());
    return new Promise((resolve, reject) => {
      const ops = this.#channels.get(channel) ?? [];
      this.#channels.set(channel, ops);
      const waiting =
        mergeKey === undefined ? undefined : ops.find((op) => op.mergeKey === mergeKey && !op.sending);
      if (waiting) {
        waiting.args = args;
        waiting.waiters.push({ resolve, reject });
      } else {
        ops.push({ method, args, mergeKey, waiters: [{ resolve, reject }], sending: false, failures: 0 });
      }
      if (!this.#running.has(channel)) {
        this.#running.add(channel);
        void this.#work(channel);
      }
    });
  }

  /** Lets what waits go out for up to `ms`, then rejects the rest with SendQueueStopped. */
  async stop(ms: number): Promise<void> {
    if (this.#stopped) return;
    if (this.pending > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#idle.add(done);
      });
    }
    this.#stopped = true;
    for (const sleep of this.#sleeps) {
      clearTimeout(sleep.timer);
      sleep.resolve();
    }
    this.#sleeps.clear();
    for (const ops of this.#channels.values()) {
      for (const op of ops.splice(0)) for (const w of op.waiters) w.reject(new SendQueueStopped());
    }
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  #pacer(method: string, channel: string): Pacer | undefined {
    const key = method === 'chat.postMessage' ? `post:${channel}` : method === 'chat.update' ? 'update' : '';
    if (!key) return undefined;
    let pacer = this.#pacers.get(key);
    if (!pacer) {
      pacer = new Pacer(method === 'chat.update' ? this.#o.updatePace : this.#o.postPace);
      this.#pacers.set(key, pacer);
    }
    return pacer;
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.#sleeps.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.#sleeps.add(entry);
    });
  }

  async #work(channel: string): Promise<void> {
    const ops = this.#channels.get(channel);
    try {
      while (ops && ops.length > 0 && !this.#stopped) {
        const op = ops[0];
        if (!op) break;
        await this.#attempt(channel, op, ops);
      }
    } finally {
      this.#running.delete(channel);
      if (ops?.length === 0) this.#channels.delete(channel);
      if (this.pending === 0) for (const done of [...this.#idle]) done();
      if (this.pending === 0) this.#idle.clear();
    }
  }

  async #attempt(channel: string, op: Op, ops: Op[]): Promise<void> {
    const pacer = this.#pacer(op.method, channel);
    // One request of a kind at a time (the update pacer is shared by every channel).
    await pacer?.lock();
    try {
      if (this.#stopped) return;
      if (pacer) {
        for (
          let wait = pacer.waitMs(this.#now());
          wait > 0 && !this.#stopped;
          wait = pacer.waitMs(this.#now())
        ) {
          await this.#sleep(wait);
        }
        if (this.#stopped) return;
      }
      op.sending = true;
      let result: Record<string, unknown>;
      try {
        result = await this.#o.call(op.method, op.args);
      } finally {
        pacer?.counted(this.#now());
        op.sending = false;
      }
      remove(ops, op);
      for (const w of op.waiters) w.resolve(result);
    } catch (error) {
      const retryAfter = rateLimitedFor(error);
      if (retryAfter !== undefined) {
        this.#o.onRateLimited?.(op.method, channel, retryAfter);
        if (pacer) pacer.pauseUntil(this.#now() + retryAfter);
        else await this.#sleep(retryAfter);
        return; // the op stays first in its queue, with whatever merged into it meanwhile
      }
      op.failures += 1;
      if (isTransient(error) && op.failures < (this.#o.attempts ?? 4)) {
        await this.#sleep((this.#o.retryBaseMs ?? 500) * 2 ** (op.failures - 1));
        return;
      }
      remove(ops, op);
      for (const w of op.waiters) w.reject(error);
    } finally {
      pacer?.unlock();
    }
  }
}

function remove<T>(items: T[], item: T): void {
  const at = items.indexOf(item);
  if (at >= 0) items.splice(at, 1);
}
