// What the benchmarks share (not a benchmark itself: run-all.ts runs only *.bench.ts): a private
// redis-server, the bot core set up for benchmarking, a silent chat network, a rate-limited one
// (PacedChat), commands from alice, and small helpers for timing and printing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import type { Config } from '../../config/schema.ts';
import { type BotCore, startBotCore } from '../../src/app/bot-core.ts';
import { loadConfig } from '../../src/app/config-load.ts';
import { SendFailure } from '../../src/chat/send-failure.ts';
import { FINAL_STATES } from '../../src/queue/job-view.ts';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/redis-server-process.ts';
import type {
  AdapterLimits,
  ChatAdapter,
  ChatTarget,
  IncomingMessage,
  MessageRef,
  Reply,
} from '../../src/types.ts';

/** The p-th percentile (0–100) of some numbers, nearest rank; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Waits until `performance.now()` reaches `at` (returns at once when it has). */
export async function sleepUntil(at: number): Promise<void> {
  const wait = at - performance.now();
  if (wait > 0) await sleep(wait);
}

/** Milliseconds with one decimal, right-aligned for tables. */
export function ms(value: number, width = 8): string {
  return `${value.toFixed(1)} ms`.padStart(width + 3);
}

/** A redis-server of the benchmark's own, in a temp dir, without AOF; `stop()` ends it and removes the dir. */
export async function privateRedis(): Promise<RedisServerHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'vmops-bench-'));
  try {
    const server = await startRedisServer({ dir, appendOnly: false });
    return {
      ...server,
      async stop() {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A chat network that takes every send and edit and keeps nothing. */
export const silentChat: ChatAdapter = {
  network: 'bench',
  limits: { canEdit: true, minEditIntervalMs: 60_000, maxMessageLength: 4000 },
  start: async () => undefined,
  stop: async () => undefined,
  send: async (target) => ({ network: 'bench', room: target.room, id: 'x' }),
  edit: async () => undefined,
  directTarget: (account) => ({ network: 'bench', room: account, isDirect: true }),
};

/** One message a PacedChat accepted, and what became of it. */
export interface PacedMessage {
  ref: MessageRef;
  /** The job whose status message it is. */
  jobId: string | undefined;
  /** Date.now() of the last accepted send or edit. */
  lastAt: number;
  edits: number;
  lastReply: Reply;
  /** Date.now() when a version showing a final state was first accepted. */
  finalAt: number | undefined;
}

export interface PacedChatOptions {
  network: string;
  /** Minimum time between two sends or edits of one message (ms), told to the bot (`limits`). */
  minEditIntervalMs: number;
  /** Whether the network itself refuses (or holds) an edit sooner than that after the message's last. Default true. */
  messageInterval?: boolean;
  /**
   * A limit on every send and edit into a room together (a sustained rate with a burst, counted as a
   * GCRA, as Slack counts chat.postMessage per channel). Absent: only the per-message interval.
   */
  roomRate?: { perSecond: number; burst: number };
  /** How long each accepted send or edit takes, as a network round trip would (ms; default 5). */
  latencyMs?: number;
}

/**
 * A chat network with a platform's rate limits, for the benchmarks: the per-message minimum edit
 * interval and, optionally, a per-room rate on every request; a request that breaks one is refused
 * with a 429 carrying the wait (counted: the bot should cause none). It records every message, its edits and
 * when each first showed its job's final state, the requests made, and the ones refused (how early).
 * `deliver` hands it a message as if someone had typed it.
 */
export class PacedChat implements ChatAdapter {
  readonly network: string;
  readonly limits: AdapterLimits;
  readonly messages = new Map<string, PacedMessage>();
  /** Requests (sends and edits) made, and those refused with a 429. */
  requests = 0;
  refused = 0;
  /** How much too soon the worst refused request came (ms). */
  worstEarly = 0;
  /** Edits accepted. */
  edits = 0;
  readonly #options: PacedChatOptions;
  readonly #latencyMs: number;
  /** Theoretical arrival time of the next request, per room (the GCRA's state). */
  readonly #tat = new Map<string, number>();
  /** When each accepted edit was made, by room. */
  readonly #roomEdits = new Map<string, number[]>();
  #next = 0;
  #onMessage: (message: IncomingMessage) => Promise<void> = async () => undefined;

  constructor(options: PacedChatOptions) {
    this.#options = options;
    this.network = options.network;
    this.#latencyMs = options.latencyMs ?? 5;
    // The room's rate is told to the bot (`sendBudget`/`editBudget`), as the Slack adapter tells it.
    const budget = options.roomRate;
    this.limits = {
      canEdit: true,
      minEditIntervalMs: options.minEditIntervalMs,
      maxMessageLength: 4000,
      ...(budget
        ? { sendBudget: { per: 'room', rate: budget }, editBudget: { per: 'room', rate: budget } }
        : {}),
    };
  }

  async start(onMessage: (message: IncomingMessage) => Promise<void>): Promise<void> {
    this.#onMessage = onMessage;
  }
  async stop(): Promise<void> {}
  /** Hands the bot a message, as the network would. */
  deliver(message: IncomingMessage): Promise<void> {
    return this.#onMessage(message);
  }
  directTarget(account: string): ChatTarget {
    return { network: this.network, room: `dm:${account}`, isDirect: true };
  }

  /** When each message first showed its job's final state (Date.now()), by job id. */
  finalAtByJob(): Map<string, number> {
    const found = new Map<string, number>();
    for (const m of this.messages.values())
      if (m.jobId && m.finalAt !== undefined) found.set(m.jobId, m.finalAt);
    return found;
  }

  /** Most edits one room got in any one second. */
  busiestRoomSecond(): number {
    let most = 0;
    for (const times of this.#roomEdits.values()) {
      let from = 0;
      for (let to = 0; to < times.length; to++) {
        while ((times[to] as number) - (times[from] as number) >= 1000) from += 1;
        most = Math.max(most, to - from + 1);
      }
    }
    return most;
  }

  /** How long until the room takes a request (0: now, and it is counted). */
  #roomWait(room: string, now: number): number {
    const rate = this.#options.roomRate;
    if (!rate) return 0;
    const interval = 1000 / rate.perSecond;
    const tat = this.#tat.get(room) ?? 0;
    const earliest = tat - (rate.burst - 1) * interval;
    if (now < earliest) return Math.ceil(earliest - now);
    this.#tat.set(room, Math.max(tat, now) + interval);
    return 0;
  }

  /** Counts a request, and refuses it (429) when it breaks a limit. `message` is the one edited. */
  #request(room: string, message: PacedMessage | undefined): void {
    this.requests += 1;
    if (message && this.#options.messageInterval !== false) {
      const early = message.lastAt + this.limits.minEditIntervalMs - Date.now();
      if (early > 0) this.#tooSoon(early);
    }
    const wait = this.#roomWait(room, Date.now());
    if (wait > 0) this.#tooSoon(wait);
  }

  /** A request `early` ms too soon: refused with the wait, as a platform answers (the bot should cause none). */
  #tooSoon(early: number): never {
    this.refused += 1;
    this.worstEarly = Math.max(this.worstEarly, early);
    throw new SendFailure(`429 too many requests: retry after ${early} ms`, {
      retryable: true,
      retryAfterMs: early,
      platformCode: 'ratelimited',
    });
  }

  // Sends and edits are stamped when the network accepts them, then take the round trip to answer.
  async send(target: ChatTarget, reply: Reply): Promise<MessageRef> {
    this.#request(target.room, undefined);
    this.#next += 1;
    const ref = { network: this.network, room: target.room, id: `${this.network}-${this.#next}` };
    const now = Date.now();
    const final = reply.status && FINAL_STATES.has(reply.status.state) ? now : undefined;
    this.messages.set(ref.id, {
      ref,
      jobId: reply.status?.jobId,
      lastAt: now,
      edits: 0,
      lastReply: reply,
      finalAt: final,
    });
    await sleep(this.#latencyMs);
    return ref;
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    const message = this.messages.get(ref.id);
    if (!message) throw new Error(`edit of unknown message ${ref.id}`);
    this.#request(ref.room, message);
    const now = Date.now();
    message.lastAt = now;
    message.edits += 1;
    this.edits += 1;
    const times = this.#roomEdits.get(ref.room) ?? [];
    times.push(now);
    this.#roomEdits.set(ref.room, times);
    message.lastReply = reply;
    if (reply.status && FINAL_STATES.has(reply.status.state)) message.finalAt ??= now;
    await sleep(this.#latencyMs);
  }
}

/**
 * The bot core on `server` under the prefix `bench`, with the default config; alice is an operator on
 * every adapter's network, jobs are queued without a worker heartbeat (nothing runs them, or the bench
 * runs them itself) and the throttle lets one person send every command (its check still runs). Every
 * adapter is started, delivering to the core: at once (`core.handle`), or with `viaIntake` durably
 * first as main.ts does (`core.take`; `onHandled` then hears what became of each message).
 */
export async function benchCore(
  server: { url: string },
  adapters: ChatAdapter[],
  {
    viaIntake,
    ...extra
  }: Pick<Parameters<typeof startBotCore>[0], 'onHandled' | 'intake' | 'approvalSweepMs'> & {
    viaIntake?: boolean;
  } = {},
): Promise<{ config: Config; core: BotCore }> {
  const config = structuredClone(loadConfig());
  config.redis.prefix = 'bench';
  config.people.alice = {
    roles: ['operator'],
    accounts: Object.fromEntries(adapters.map((a) => [a.network, 'alice'])),
  };
  config.jobs.refuseWithoutWorker = false;
  config.bot.throttle.commands = 1_000_000;
  const core = await startBotCore({
    config,
    redisUrl: server.url,
    adapters: new Map(adapters.map((a) => [a.network, a])),
    log: pino({ level: 'silent' }),
    instanceId: 'bench',
    ...extra,
  });
  for (const adapter of adapters) {
    await adapter.start(async (message) => {
      if (viaIntake) await core.take(message);
      else await core.handle(message);
    });
  }
  return { config, core };
}

/** `text` from alice in a direct room, as an adapter would deliver it. */
export function fromAlice(
  text: string,
  { eventId, room, network = 'bench' }: { eventId: string; room: string; network?: string },
): IncomingMessage {
  return {
    eventId,
    sender: { id: 'alice', displayName: 'alice', isBot: false, isSelf: false },
    target: { network, room, isDirect: true },
    text,
    mentioned: false,
    sentAt: Date.now(),
  };
}

/** A version of its own for command `i` (2.0.0, 2.0.1, …): one image takes one job at a time, so the same build twice would be refused. */
export const versionFor = (i: number) => `2.${Math.floor(i / 1000)}.${i % 1000}`;
