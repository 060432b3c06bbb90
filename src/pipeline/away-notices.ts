// The one notice a room gets when the bot comes back and ignores commands too old to run ("I was away;
// I ignored N command(s) …"), whichever network and whichever bot instance saw them. Each ignored
// command is pushed to a list in Redis for its room; the instance that opens the room's notice (SET NX)
// sends it a moment later with every command pushed by then, so a return's catch-up, back-fill and
// redeliveries, seen by one instance or several, make one notice.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ChatTarget, IncomingMessage, Reply } from '../types.ts';

export interface AwayNoticesOptions {
  redis: Redis;
  /** The configured Redis prefix. */
  prefix: string;
  /** The bot's name, to show commands as typed. */
  commandOf(message: IncomingMessage): string;
  reply(target: ChatTarget, reply: Reply): Promise<unknown>;
  log: Logger;
  /** How long after the first ignored command the notice goes, gathering the others (ms; default 2000). */
  gatherMs?: number;
}

/** Commands named in the notice; the rest are counted. */
const LISTED = 5;

interface Ignored {
  command: string;
  sender: string;
  eventId: string;
}

export function awayNoticeText(ignored: readonly Ignored[]): string {
  const listed = ignored.slice(0, LISTED).map((m) => `"${m.command.slice(0, 80)}" (${m.sender})`);
  const more = ignored.length > LISTED ? ` and ${ignored.length - LISTED} more` : '';
  return `I was away; I ignored ${ignored.length} command(s) sent before I came back: ${listed.join(', ')}${more}. Send again if still needed.`;
}

export class AwayNotices {
  readonly #o: AwayNoticesOptions;
  readonly #timers = new Map<NodeJS.Timeout, ChatTarget>();
  readonly #sending = new Set<Promise<void>>();

  constructor(options: AwayNoticesOptions) {
    this.#o = options;
  }

  #keys(target: ChatTarget): { list: string; open: string } {
    const room = `${target.network}:${target.room}`;
    return { list: `${this.#o.prefix}:away:ignored:${room}`, open: `${this.#o.prefix}:away:notice:${room}` };
  }

  /** Notes a command ignored for its age (claimed by the caller, so each is noted once across instances). */
  async ignored(message: IncomingMessage): Promise<void> {
    const target: ChatTarget = {
      network: message.target.network,
      room: message.target.room,
      isDirect: message.target.isDirect,
    };
    const { list, open } = this.#keys(target);
    const gatherMs = this.#o.gatherMs ?? 2000;
    const entry: Ignored = {
      command: this.#o.commandOf(message),
      sender: message.sender.id,
      eventId: message.eventId,
    };
    const [, , opened] = (await this.#o.redis
      .multi()
      .rpush(list, JSON.stringify(entry))
      .pexpire(list, gatherMs * 30)
      .set(open, '1', 'PX', gatherMs * 10, 'NX')
      .exec()) ?? [[null], [null], [null]];
    if (opened?.[1] !== 'OK') return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#start(target);
    }, gatherMs);
    this.#timers.set(timer, target);
  }

  #start(target: ChatTarget): void {
    const sent = this.#send(target).finally(() => this.#sending.delete(sent));
    this.#sending.add(sent);
  }

  async #send(target: ChatTarget): Promise<void> {
    const { list, open } = this.#keys(target);
    const log = this.#o.log;
    try {
      const [[, raw] = [], ,] = ((await this.#o.redis
        .multi()
        .lrange(list, 0, -1)
        .del(list)
        .del(open)
        .exec()) ?? []) as [unknown, unknown][];
      const ignored = ((raw as string[] | undefined) ?? []).map((line) => JSON.parse(line) as Ignored);
      if (ignored.length === 0) return;
      log.info(
        { room: target.room, network: target.network, ignored: ignored.map((m) => m.eventId) },
        'commands from while away ignored; the room is told once',
      );
      await this.#o.reply(target, { text: awayNoticeText(ignored), tone: 'info' });
    } catch (error) {
      log.warn({ err: error, room: target.room }, 'could not tell the room about ignored commands');
    }
  }

  /** Sends the notices this instance opened now, without gathering further, and waits for them (a stop). */
  async close(): Promise<void> {
    for (const [timer, target] of this.#timers) {
      clearTimeout(timer);
      this.#start(target);
    }
    this.#timers.clear();
    await Promise.all(this.#sending);
  }
}
