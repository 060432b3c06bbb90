// The durable intake: an adapter hands each message here, and only when `take` has resolved does it
// acknowledge the message to its network (Slack's envelope ack, Matrix's stored sync position). `take`
// applies the pipeline's cheap admission (own, bot, history, not addressed to the bot, too old: the
// last is claimed as ignored and told to its room once, see src/pipeline/away-notices.ts), then, in one
// Redis script, claims the event id (`taken`) and appends the message to a Redis stream; a second
// delivery of the same event (a redelivery, another bot instance) finds the claim and is not appended.
//
// Every bot instance reads the stream as a consumer of one consumer group, starts handling each entry
// at once, in stream order, side by side with the others (up to `concurrency`; the pipeline never
// waits on a send here, and a room's replies keep their order in the outbox as they are made), and
// acknowledges each entry once it is handled. Commands are not serialised per room: a burst of 30
// would otherwise wait for each other's Redis round trips, and each is queued on its own anyway.
// The stream is polled on the bot's own connection: at once when this instance has just taken
// something in, else less often the longer it stays empty (what another instance takes in, that
// instance reads itself). An instance keeps a heartbeat key while it runs; the
// entries an instance read but did not finish (it was killed, or its handler hung) are claimed by
// another live instance as soon as its heartbeat is gone (XCLAIM), or after `reclaimIdleMs` in any case
// (XAUTOCLAIM), and finished there: the ingress claim of the dead handler is taken over, and jobs are
// queued idempotently per event, so each command runs once. A graceful stop finishes what was read and
// leaves the rest in the stream for the next reader.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { commandText } from '../grammar/addressing.ts';
import type { AwayNotices } from '../pipeline/away-notices.ts';
import type { HandledMessage } from '../pipeline/handle-message.ts';
import {
  type Admission,
  claimIgnored,
  doneBuckets,
  doneField,
  IF_DONE,
  type IngressOptions,
  REMEMBER_MS,
  screen,
  TAKEN,
} from '../pipeline/ingress.ts';
import { LuaScript } from '../redis/lua-script.ts';
import type { IncomingMessage } from '../types.ts';

export interface IntakeOptions {
  /** The bot's Redis connection (writes, acks, claims). */
  redis: Redis;
  /** The configured Redis prefix (the stream and heartbeat keys live under it, on its hash slot). */
  prefix: string;
  /** The pipeline's ingress settings (age limit, event keys). */
  ingress: IngressOptions;
  /** The name the bot answers to. */
  botName: string;
  /** This instance's consumer name. */
  instanceId: string;
  /** Runs the pipeline on a taken message. */
  handle(message: IncomingMessage, admission: Admission): Promise<HandledMessage>;
  /** Where commands too old to run are noted. */
  away?: AwayNotices;
  log: Logger;
  /** How often the heartbeat is renewed and dead instances' entries are looked for (ms; default 1000). */
  heartbeatMs?: number;
  /** Entries pending this long are taken over whoever holds them (ms; default 60000). */
  reclaimIdleMs?: number;
  /** Most entries handled at once (default 64). */
  concurrency?: number;
  /** How long to wait after a read that found nothing new (ms; default 50), doubling while nothing comes. */
  pollMs?: number;
  /** The longest wait between two reads of an empty stream (ms; default 1000). */
  maxPollMs?: number;
}

/** What became of a message handed to `take`. */
export type Taken = 'taken' | 'duplicate' | 'ignored';

export const GROUP = 'bots';

/**
 * Claims the event (`taken`) and appends the entry, or does nothing when the event is claimed already
 * or was handled.
 */
const TAKE = `
${IF_DONE(3, 'ARGV[6]', 'false')}
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') == false then return false end
return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'message', ARGV[3], 'takenAt', ARGV[4])`;
const TAKE_SCRIPT = new LuaScript(TAKE, 5);

interface Entry {
  id: string;
  message: IncomingMessage;
  takenAt: number;
}

type StreamReply = [string, [string, string[]][]][] | null;

function parseEntry(id: string, fields: string[]): Entry | undefined {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] ?? '', fields[i + 1] ?? '');
  const raw = map.get('message');
  if (!raw) return undefined;
  return {
    id,
    message: JSON.parse(raw) as IncomingMessage,
    takenAt: Number(map.get('takenAt')) || Date.now(),
  };
}

export class Intake {
  readonly #o: IntakeOptions;
  readonly stream: string;
  readonly #alive: (consumer: string) => string;
  #reader: Redis | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Ends the read loop's wait at once (this instance took something in, or is stopping). */
  #wake: (() => void) | undefined;
  /** Something was taken in since the last read began: the next wait ends at once. */
  #woken = false;
  /** Entries read and not yet acknowledged, by id. */
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(options: IntakeOptions) {
    this.#o = options;
    this.stream = `${options.prefix}:intake`;
    this.#alive = (consumer) => `${options.prefix}:intake:alive:${consumer}`;
  }

  /** Entries read by this instance and not yet handled. */
  get pending(): number {
    return this.#inFlight.size;
  }

  /**
   * Takes a message in: resolves once it is safely in Redis (or known to be a duplicate, or not to be
   * run), after which the adapter may acknowledge it to the network. Rejects when Redis cannot be
   * written: then the adapter must not acknowledge it.
   */
  async take(message: IncomingMessage): Promise<Taken> {
    const o = this.#o;
    if (commandText(message, o.botName) === undefined) return 'ignored';
    const now = o.ingress.now?.() ?? Date.now();
    const dropped = screen(message, o.ingress.maxAgeMs, now);
    if (dropped === 'too-old') {
      if (await claimIgnored(message, o.ingress)) {
        o.log.info(
          { eventId: message.eventId, room: message.target.room, sentAt: message.sentAt },
          'command too old to run; ignored',
        );
        await o.away?.ignored(message);
      }
      return 'ignored';
    }
    if (dropped) return 'ignored';
    const key = o.ingress.keys.event(message.target.network, message.eventId);
    const rememberMs = o.ingress.rememberMs ?? REMEMBER_MS;
    const id = await TAKE_SCRIPT.run(
      o.redis,
      [key, this.stream, ...doneBuckets(o.ingress.keys, rememberMs, now).around],
      [TAKEN, String(rememberMs), JSON.stringify(message), String(now), '100000', doneField(message)],
    );
    if (typeof id !== 'string') return 'duplicate';
    this.#woken = true;
    this.#wake?.();
    return 'taken';
  }

  /** Joins the consumer group and starts reading (and finishing what dead instances left). */
  async start(): Promise<void> {
    if (this.#running) return;
    const o = this.#o;
    await this.#ensureGroup();
    this.#running = true;
    // Polled on the bot's own connection (a blocking XREADGROUP would hold it): a separate blocking
    // reader kept the jobs of the same process from carrying on after a Sentinel failover (seen in
    // test/integration/scale-out.test.ts). An empty poll waits `pollMs`, doubling up to `maxPollMs`
    // while the stream stays empty; a take on this instance ends the wait.
    this.#reader = o.redis;
    await this.#beat();
    const every = o.heartbeatMs ?? 1000;
    this.#heartbeat = setInterval(() => {
      void this.#beat()
        .then(() => this.#reclaim())
        .catch((error: unknown) => o.log.warn({ err: error }, 'intake heartbeat or reclaim failed'));
    }, every);
    // Entries this consumer name read before and never acknowledged (a restart under the same name).
    await this.#read('0').catch((error: unknown) =>
      o.log.warn({ err: error }, 'intake could not read its own pending entries'),
    );
    this.#loop = this.#readLoop();
  }

  /** Creates the stream and its consumer group unless they exist (also after a Redis that lost them). */
  async #ensureGroup(): Promise<void> {
    await this.#o.redis.xgroup('CREATE', this.stream, GROUP, '0', 'MKSTREAM').catch((error: unknown) => {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    });
  }

  async #beat(): Promise<void> {
    const every = this.#o.heartbeatMs ?? 1000;
    await this.#o.redis.set(this.#alive(this.#o.instanceId), '1', 'PX', every * 3);
  }

  async #readLoop(): Promise<void> {
    const o = this.#o;
    const limit = o.concurrency ?? 64;
    const fastest = o.pollMs ?? 50;
    let idle = fastest;
    while (this.#running) {
      try {
        if (this.#inFlight.size >= limit) {
          await Promise.race(this.#inFlight.values());
          continue;
        }
        const wanted = limit - this.#inFlight.size;
        this.#woken = false;
        const read = await this.#read('>', wanted);
        // A read that got all it asked for may have left more; one that got less found the stream drained.
        if (read >= wanted) idle = fastest;
        else if (read > 0) {
          idle = fastest;
          await this.#idle(idle);
        } else {
          await this.#idle(idle);
          idle = Math.min(idle * 2, o.maxPollMs ?? 1000);
        }
      } catch (error) {
        if (!this.#running) break;
        o.log.warn({ err: error }, 'intake read failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500));
        // A Redis restarted without its data has no group any more: make it again.
        if (String((error as Error).message).includes('NOGROUP'))
          await this.#ensureGroup().catch(() => undefined);
      }
    }
  }

  /** Waits `ms`, or less when woken. */
  #idle(ms: number): Promise<void> {
    if (this.#woken || !this.#running) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  /** One XREADGROUP: `>` for new entries, `0` for this consumer's own pending ones; how many it read. */
  async #read(from: '>' | '0', count = 100): Promise<number> {
    const reader = this.#reader;
    if (!reader) return 0;
    const reply = (await reader.xreadgroup(
      'GROUP',
      GROUP,
      this.#o.instanceId,
      'COUNT',
      count,
      'STREAMS',
      this.stream,
      from,
    )) as StreamReply;
    let read = 0;
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        read += 1;
        this.#dispatch(id, fields);
      }
    }
    return read;
  }

  /** Starts handling an entry, once. */
  #dispatch(id: string, fields: string[] | null): void {
    if (this.#inFlight.has(id)) return;
    const o = this.#o;
    const entry = fields ? parseEntry(id, fields) : undefined;
    if (!entry) {
      // Deleted meanwhile, or not ours to read: nothing to run.
      void this.#ack(id);
      return;
    }
    const { message } = entry;
    const work = (async () => {
      // Releasing the event's claim acknowledges the entry in the same step; else it is acknowledged here.
      const admission: Admission = {
        takenAt: entry.takenAt,
        fromIntake: true,
        entry: { stream: this.stream, group: GROUP, id },
      };
      try {
        await o.handle(message, admission);
      } catch (error) {
        o.log.error({ err: error, eventId: message.eventId }, 'intake entry could not be handled');
      }
      if (!admission.entry?.acknowledged) await this.#ack(id);
    })();
    this.#inFlight.set(
      id,
      work.finally(() => this.#inFlight.delete(id)),
    );
  }

  async #ack(id: string): Promise<void> {
    await this.#o.redis
      .multi()
      .xack(this.stream, GROUP, id)
      .xdel(this.stream, id)
      .exec()
      .catch((error: unknown) =>
        this.#o.log.warn(
          { err: error, entry: id },
          'intake entry handled but not acknowledged; it may be handled again',
        ),
      );
  }

  /** Takes over the entries of instances whose heartbeat is gone, and of any entry pending too long. */
  async #reclaim(): Promise<void> {
    if (!this.#running) return;
    const o = this.#o;
    const me = o.instanceId;
    const pending = (await o.redis.xpending(this.stream, GROUP, '-', '+', 200)) as [
      string,
      string,
      number,
      number,
    ][];
    const byConsumer = new Map<string, string[]>();
    for (const [id, consumer] of pending) {
      if (consumer === me) continue;
      byConsumer.set(consumer, [...(byConsumer.get(consumer) ?? []), id]);
    }
    for (const [consumer, ids] of byConsumer) {
      if (await o.redis.exists(this.#alive(consumer))) continue;
      // Idle at least a heartbeat: of two instances reclaiming at once, only the first gets each entry.
      const claimed = (await o.redis.xclaim(this.stream, GROUP, me, o.heartbeatMs ?? 1000, ...ids)) as [
        string,
        string[] | null,
      ][];
      if (claimed.length > 0) {
        o.log.warn(
          { from: consumer, entries: claimed.length },
          'intake: finishing what a stopped bot instance took in',
        );
      }
      for (const [id, fields] of claimed) this.#dispatch(id, fields);
    }
    const [, stale] = (await o.redis.xautoclaim(
      this.stream,
      GROUP,
      me,
      o.reclaimIdleMs ?? 60_000,
      '0',
      'COUNT',
      100,
    )) as [string, [string, string[] | null][]];
    for (const [id, fields] of stale) this.#dispatch(id, fields);
  }

  /**
   * Stops reading; finishes what was read (bounded by `withinMs`), and leaves the rest (never read, or
   * not finished in time) in the stream for another instance, which may take it over at once.
   */
  async stop(withinMs = 10_000): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#wake?.();
    await this.#loop?.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.#inFlight.values()),
      new Promise((resolve) => {
        timer = setTimeout(resolve, withinMs);
      }),
    ]);
    clearTimeout(timer);
    if (this.#inFlight.size > 0) {
      this.#o.log.warn(
        { entries: this.#inFlight.size },
        'intake: stopping with entries unfinished; another instance takes them over',
      );
    }
    await this.#o.redis.del(this.#alive(this.#o.instanceId)).catch(() => undefined);
    this.#reader = undefined;
  }
}
