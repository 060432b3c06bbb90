// The one outbox: every message the bot sends or edits, on every network (replies, status messages,
// approval requests, announcements, notices), goes out through here, and only here is anything tried
// again. Each network's policy (policy.ts, from the adapter's limits) says which lane a message takes:
// one lane per thing the platform counts (a Slack channel's posts, the workspace's updates, a Matrix
// account, an XMPP room). A lane sends one message at a time, paced by a budget shared by every bot
// instance in Redis (shared-pace.ts); messages owed to a person go before progress edits; edits of one
// message that wait merge into the latest (and a message's content may be drawn at the moment it goes
// out, so a status message that waited shows the job as it is then). A network that is away (an XMPP
// server restarting, a room not joined yet) is waited out before each try, holding only its lane. A
// platform's rate limit is waited out (the whole budget pauses, for every instance); a retryable
// failure is tried again a few times with the same transaction id, so the platform stores it once;
// any other failure is final at once. A lane holds at most `maxPerLane` messages (a network away for
// long, a flood): beyond it the oldest progress that is not a final state is dropped (its sender is
// told, the drop is logged and counted); only a lane full of what is owed to a person or of final
// states drops the oldest of those.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isRateLimit, isRetryable, SendFailure } from '../chat/send-failure.ts';
import { fitReply } from '../render/fit-reply.ts';
import type { ChatAdapter, ChatTarget, MessageRef, Reply } from '../types.ts';
import { editLane, type Lane, sendLane } from './policy.ts';
import { SharedPace } from './shared-pace.ts';

/** Who waits for a message: a person owed an answer, or a room following a job's progress. */
export type Priority = 'reply' | 'progress';
const RANK: Record<Priority, number> = { reply: 0, progress: 1 };

/** The content of a message, given, or drawn when it goes out (the freshest state of a job). */
export type Content = Reply | (() => Promise<Reply>);

export interface OutboxOptions {
  adapters: ReadonlyMap<string, ChatAdapter>;
  /** Where the shared budgets live; without it each budget is this process's alone. */
  redis: Redis;
  /** Key prefix of the budgets (`config.redis.prefix`). */
  prefix: string;
  /** This instance (lock owner of the budgets). */
  instanceId: string;
  log: Logger;
  /** Tries of a message whose failure is retryable (default 6: about 15 s of waits at the default base). */
  attempts?: number;
  /** First wait before such a try (ms, doubling; default 500). */
  retryBaseMs?: number;
  /** Rate limits waited out for one message before it is given up (default 30). */
  maxRateLimits?: number;
  /** Most messages one lane holds, the one on its way included (default 1000: `bot.outboxPerLane`). */
  maxPerLane?: number;
  /** Called for each message dropped because its lane was full (for the metric). */
  onDrop?: (dropped: { network: string; priority: Priority; final: boolean }) => void;
}

/** How many messages a lane holds by default: what the XMPP adapter's own buffer held before the outbox. */
export const DEFAULT_MAX_PER_LANE = 1000;

interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Item {
  seq: number;
  rank: number;
  /** A job's last state (the notifier's final edit): dropped from a full lane only after all progress. */
  final: boolean;
  /** The network it goes to (logs, metric). */
  network: string;
  /** Edits of one message that wait merge (the later content wins). */
  mergeKey: string | undefined;
  content: Content;
  /** Sends (or edits) the message once with the content drawn now. */
  go(reply: Reply): Promise<unknown>;
  adapter: ChatAdapter;
  /** The room it goes to (for the adapter's whenSendable). */
  room: string;
  waiters: Waiter[];
  tries: number;
  rateLimits: number;
  what: string;
}

interface LaneState {
  lane: Lane;
  pace: SharedPace | undefined;
  items: Item[];
  running: boolean;
  /** The message the lane is trying now (waiting for its network, its budget or the platform): never dropped. */
  current: Item | undefined;
  /** Messages dropped from this lane because it was full (the log says the first and every 100th). */
  dropped: number;
}

export class Outbox {
  readonly #o: OutboxOptions;
  readonly #lanes = new Map<string, LaneState>();
  readonly #sleeps = new Set<() => void>();
  readonly #idle = new Set<() => void>();
  #seq = 0;
  #stopped = false;
  /** Rate limits (429s) the platforms answered, for logs and tests. */
  rateLimited = 0;

  constructor(options: OutboxOptions) {
    this.#o = options;
  }

  /** Messages waiting or on their way. */
  get pending(): number {
    let n = 0;
    for (const state of this.#lanes.values()) n += state.items.length;
    return n;
  }

  /** Sends a new message; resolves with its reference once the platform has it. */
  send(
    target: ChatTarget,
    content: Content,
    options: { priority?: Priority; txnId?: string } = {},
  ): Promise<MessageRef> {
    const adapter = this.#adapter(target.network);
    const txnId = options.txnId ?? this.#txnId();
    return this.#enqueue<MessageRef>(sendLane(target, adapter.limits), {
      rank: RANK[options.priority ?? 'reply'],
      final: false,
      network: target.network,
      mergeKey: undefined,
      content,
      adapter,
      room: target.room,
      go: (reply) => adapter.send(target, reply, { txnId }),
      what: `send to ${target.network}:${target.room}`,
    });
  }

  /**
   * Edits a message sent before; a later edit of the same message that is queued first replaces this one.
   * `final`: the content is the message's last state (a job's end), kept in a full lane over progress.
   */
  edit(
    ref: MessageRef,
    content: Content,
    options: { priority?: Priority; final?: boolean } = {},
  ): Promise<void> {
    const adapter = this.#adapter(ref.network);
    // One id per queued edit, kept over its retries; an edit merged into it before it first went out
    // takes it over (the platform had stored nothing under it).
    const txnId = this.#txnId();
    return this.#enqueue<void>(editLane(ref, adapter.limits), {
      rank: RANK[options.priority ?? 'progress'],
      final: options.final ?? false,
      network: ref.network,
      mergeKey: `${ref.network}:${ref.room}:${ref.id}`,
      content,
      adapter,
      room: ref.room,
      go: (reply) => adapter.edit(ref, reply, { txnId }),
      what: `edit of ${ref.network}:${ref.room}:${ref.id}`,
    });
  }

  /** Lets what waits go out for up to `drainMs`, then fails the rest; nothing is sent after it resolves. */
  async stop(drainMs: number): Promise<void> {
    if (this.#stopped) return;
    if (this.pending > 0 && drainMs > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#idle.delete(done);
          resolve();
        };
        const timer = setTimeout(done, drainMs);
        this.#idle.add(done);
      });
    }
    this.#stopped = true;
    for (const wake of [...this.#sleeps]) wake();
    let dropped = 0;
    for (const state of this.#lanes.values()) {
      for (const item of state.items.splice(0)) {
        dropped += 1;
        for (const w of item.waiters)
          w.reject(new SendFailure('the bot stopped before this message went out', stoppedFacts));
      }
    }
    if (dropped > 0) this.#o.log.warn({ dropped }, 'outbox stopped; messages not sent');
  }

  #txnId(): string {
    return `vmops.${this.#o.instanceId}.${Date.now()}.${++this.#seq}`;
  }

  #adapter(network: string): ChatAdapter {
    const adapter = this.#o.adapters.get(network);
    if (!adapter) {
      throw new SendFailure(`no adapter for network ${network}`, {
        retryable: false,
        platformCode: 'no_adapter',
      });
    }
    return adapter;
  }

  #enqueue<T>(lane: Lane, fields: Omit<Item, 'seq' | 'waiters' | 'tries' | 'rateLimits'>): Promise<T> {
    if (this.#stopped) {
      return Promise.reject(new SendFailure('the bot is stopping; nothing more is sent', stoppedFacts));
    }
    return new Promise<T>((resolve, reject) => {
      const waiter = { resolve: resolve as (value: unknown) => void, reject };
      const state = this.#lane(lane);
      const merged =
        fields.mergeKey === undefined
          ? undefined
          : state.items.find((i) => i.mergeKey === fields.mergeKey && i.tries === 0 && i !== inFlight(state));
      if (merged) {
        merged.content = fields.content;
        merged.rank = Math.min(merged.rank, fields.rank);
        merged.final = fields.final;
        merged.waiters.push(waiter);
        return;
      }
      state.items.push({ ...fields, seq: ++this.#seq, waiters: [waiter], tries: 0, rateLimits: 0 });
      if (state.items.length > (this.#o.maxPerLane ?? DEFAULT_MAX_PER_LANE)) this.#dropOne(state);
      if (!state.running) void this.#run(state);
    });
  }

  /** Makes room in a full lane: the oldest progress that is not a final state, else the oldest of the rest. */
  #dropOne(state: LaneState): void {
    let victim: Item | undefined;
    let oldestKept: Item | undefined;
    for (const item of state.items) {
      if (item === state.current || item.tries > 0) continue;
      const keep = item.rank === RANK.reply || item.final;
      if (!keep && (!victim || item.seq < victim.seq)) victim = item;
      if (keep && (!oldestKept || item.seq < oldestKept.seq)) oldestKept = item;
    }
    victim ??= oldestKept;
    if (!victim) return;
    remove(state.items, victim);
    state.dropped += 1;
    const priority: Priority = victim.rank === RANK.reply ? 'reply' : 'progress';
    this.#o.onDrop?.({ network: victim.network, priority, final: victim.final });
    if (state.dropped === 1 || state.dropped % 100 === 0) {
      this.#o.log.warn(
        {
          lane: state.lane.key,
          what: victim.what,
          priority,
          final: victim.final,
          droppedInLane: state.dropped,
          limit: this.#o.maxPerLane ?? DEFAULT_MAX_PER_LANE,
        },
        'outbox lane full; oldest message dropped',
      );
    }
    for (const w of victim.waiters) {
      w.reject(
        new SendFailure('dropped: too many messages were waiting for this room', {
          // A later message may well go: the notifier redraws a dropped progress edit at the next change.
          retryable: true,
          platformCode: 'outbox_full',
        }),
      );
    }
  }

  #lane(lane: Lane): LaneState {
    let state = this.#lanes.get(lane.key);
    if (!state) {
      state = {
        lane,
        pace: lane.rate
          ? new SharedPace({
              redis: this.#o.redis,
              key: `${this.#o.prefix}outbox:${lane.key}`,
              rate: lane.rate,
              owner: `${this.#o.instanceId}`,
            })
          : undefined,
        items: [],
        running: false,
        current: undefined,
        dropped: 0,
      };
      this.#lanes.set(lane.key, state);
    }
    return state;
  }

  /** Sends a lane's messages one at a time, the most owed first. */
  async #run(state: LaneState): Promise<void> {
    state.running = true;
    try {
      while (!this.#stopped) {
        const item = next(state);
        if (!item) break;
        state.current = item;
        await this.#attempt(state, item);
        state.current = undefined;
      }
    } catch (error) {
      this.#o.log.error({ err: error, lane: state.lane.key }, 'outbox lane failed');
    } finally {
      state.current = undefined;
      state.running = false;
      if (state.items.length > 0 && !this.#stopped) void this.#run(state);
      else if (this.pending === 0) for (const done of [...this.#idle]) done();
    }
  }

  async #attempt(state: LaneState, item: Item): Promise<void> {
    const { log } = this.#o;
    // The network away (or the room not joined yet): this lane waits for it, the others go on.
    const sendable = item.adapter.whenSendable?.(item.room);
    if (sendable) {
      await this.#untilStopped(sendable);
      if (this.#stopped) return;
    }
    const pace = state.pace;
    if (pace) {
      const taken = await pace
        .take(
          (ms) => this.#sleep(ms),
          () => this.#stopped,
        )
        .catch((error: unknown) => {
          // Redis away: go unpaced rather than not at all (a 429 still pauses this lane).
          log.warn({ err: error, lane: state.lane.key }, 'shared pacing unavailable; sending unpaced');
          return 'unpaced' as const;
        });
      if (taken === false) return;
      if (taken === 'unpaced') return this.#deliver(state, item, undefined);
    }
    return this.#deliver(state, item, pace);
  }

  async #deliver(state: LaneState, item: Item, pace: SharedPace | undefined): Promise<void> {
    const { log } = this.#o;
    // Taken off the merge list: an edit arriving now queues behind this one.
    item.tries += 1;
    let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
    try {
      const drawn = typeof item.content === 'function' ? await item.content() : item.content;
      const reply =
        item.adapter.limits.attachesLongText && !drawn.status ? drawn : fitReply(drawn, item.adapter.limits);
      outcome = { ok: true, value: await item.go(reply) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const settle = async (pacing: Promise<void> | undefined) => {
      await pacing?.catch((error: unknown) => log.warn({ err: error }, 'shared pacing not updated'));
    };
    if (outcome.ok) {
      await settle(pace?.counted());
      remove(state.items, item);
      for (const w of item.waiters) w.resolve(outcome.value);
      return;
    }
    const error = outcome.error;
    if (isRateLimit(error)) {
      this.rateLimited += 1;
      item.rateLimits += 1;
      item.tries -= 1; // a rate limit is no failed try
      const wait = Math.max(50, error.retryAfterMs);
      log.warn(
        { lane: state.lane.key, retryAfterMs: wait, what: item.what },
        'rate limited by the platform; the message waits and goes out later',
      );
      if (item.rateLimits <= (this.#o.maxRateLimits ?? 30)) {
        if (pace) await settle(pace.pausedFor(wait));
        else await this.#sleep(wait);
        return;
      }
    } else {
      await settle(pace?.released());
      if (isRetryable(error) && item.tries < (this.#o.attempts ?? 6) && !this.#stopped) {
        const wait = (this.#o.retryBaseMs ?? 500) * 2 ** (item.tries - 1);
        log.warn({ err: error, lane: state.lane.key, what: item.what, wait }, 'send failed; trying again');
        await this.#sleep(wait);
        return;
      }
    }
    log.warn(
      { err: error, lane: state.lane.key, what: item.what, tries: item.tries },
      'send failed; given up',
    );
    remove(state.items, item);
    for (const w of item.waiters) w.reject(error);
  }

  /** Resolves when `promise` settles or the outbox stops, whichever comes first. */
  #untilStopped(promise: Promise<void>): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.#sleeps.delete(wake);
        resolve();
      };
      this.#sleeps.add(wake);
      promise.then(wake, wake);
    });
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleeps.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleeps.add(wake);
    });
  }
}

const stoppedFacts = { retryable: false, platformCode: 'stopped' } as const;

/** The item on its way: the first tried and not yet settled. */
function inFlight(state: LaneState): Item | undefined {
  return state.items.find((i) => i.tries > 0);
}

/** What a lane sends next: one already tried (it keeps its turn), else the most owed, then the oldest. */
function next(state: LaneState): Item | undefined {
  let best: Item | undefined;
  for (const item of state.items) {
    if (item.tries > 0 || item.rateLimits > 0) return item;
    if (!best || item.rank < best.rank || (item.rank === best.rank && item.seq < best.seq)) best = item;
  }
  return best;
}

function remove<T>(items: T[], item: T): void {
  const at = items.indexOf(item);
  if (at >= 0) items.splice(at, 1);
}
