// Being in the configured MUC rooms: joining (history refused), joining again after a refusal, a kick
// or a join nobody answered (backoff), noticing a membership lost without a word (XEP-0410 self-ping,
// and a room's `not-acceptable` error), going live once a join's history and subject are through,
// answering under a fallback nick when the bot's own was taken and taking it back once it is free.
import type { Client, Element, StanzaError } from '@xmpp/client';
import { xml } from '@xmpp/client';
import type { Logger } from 'pino';
import { type Backoff, backoffDelay } from './backoff.ts';
import type { MucRoom } from './rooms.ts';
import { NS, readMucPresence, STATUS, selfPingVerdict } from './stanzas.ts';

/** How long after its self-presence a room that sends no subject is taken as live (ms). */
const SUBJECT_WAIT_MS = 5000;

/** What the membership needs of the adapter around it. */
export interface MembershipHost {
  /** The client of the current session, if any. */
  client(): Client | undefined;
  /** A session is up, and the adapter not stopped. */
  connected(): boolean;
  stopped(): boolean;
  /** Runs `run` after `ms` unless the adapter stopped meanwhile. */
  later(ms: number, run: () => void): void;
  /** The bot is in a room now (self-presence): messages for it may go out. */
  joined(room: MucRoom): void;
  /** The room's messages are live (after its history and subject). */
  live(room: MucRoom): void;
  /** The bot is out of a room. */
  left(room: MucRoom, reason: string): void;
  log: Logger;
}

export interface MembershipOptions {
  /** The nick the bot wants in every room. */
  nick: string;
  backoff: Backoff;
  /** A join without an answer within this long is tried again (ms). */
  joinTimeoutMs: number;
  /** How often each joined room is self-pinged (ms). */
  selfPingIntervalMs: number;
}

export class RoomMembership {
  readonly #rooms: ReadonlyMap<string, MucRoom>;
  readonly #host: MembershipHost;
  readonly #o: MembershipOptions;
  readonly #rejoinAttempts = new Map<string, number>();
  #pingTimer: NodeJS.Timeout | undefined;

  constructor(rooms: ReadonlyMap<string, MucRoom>, host: MembershipHost, options: MembershipOptions) {
    this.#rooms = rooms;
    this.#host = host;
    this.#o = options;
  }

  /** A new session: every room must be joined again. */
  joinAll(): void {
    for (const room of this.#rooms.values()) {
      room.reset();
      this.#rejoinAttempts.delete(room.jid);
      this.#join(room);
    }
    this.#startSelfPing();
  }

  /** A resumed session: memberships survive it, unless the service dropped us meanwhile: ask. */
  checkAll(): void {
    for (const room of this.#rooms.values()) void this.#selfPing(room);
  }

  stop(): void {
    clearInterval(this.#pingTimer);
  }

  /** The subject of a room arrived: it comes last in a join, so from here on messages are live. */
  subject(room: MucRoom): void {
    if (room.status === 'joined' && !room.live) this.#goLive(room);
  }

  /** An error bounced from a room: `not-acceptable` says the bot is not an occupant any more. */
  roomError(room: MucRoom, stanza: Element): void {
    const condition = stanza.getChild('error')?.getChildElements()[0]?.name;
    this.#host.log.warn({ room: room.jid, condition }, 'xmpp room returned an error');
    if (condition === 'not-acceptable' && room.joined) {
      this.#host.left(room, 'not an occupant');
      room.reset();
      this.#join(room);
    }
  }

  presence(stanza: Element): void {
    const presence = readMucPresence(stanza);
    if (!presence) return;
    const room = this.#rooms.get(presence.room);
    if (!room) return;
    const change = room.apply(presence);
    const log = this.#host.log.child({ room: room.jid });
    this.#reclaimNick(room, presence);
    switch (change.kind) {
      case 'joined': {
        this.#rejoinAttempts.delete(room.jid);
        log.info({ nick: room.ownNick, seesRealJids: change.seesRealJids }, 'xmpp room joined');
        if (!change.seesRealJids) {
          log.warn(
            'the room hides real JIDs from the bot: commands from it are refused (make it non-anonymous)',
          );
        }
        // A service that sends no subject: live after a short wait all the same.
        const session = room.session;
        this.#host.later(SUBJECT_WAIT_MS, () => {
          if (room.session === session && room.status === 'joined' && !room.live) this.#goLive(room);
        });
        this.#host.joined(room);
        break;
      }
      case 'left':
        log.warn({ reason: change.reason }, 'xmpp room left');
        this.#host.left(room, change.reason);
        if (change.rejoin) this.#scheduleRejoin(room);
        break;
      case 'join-failed':
        log.warn({ error: change.error }, 'xmpp room join refused');
        if (change.error === 'conflict') room.wantedNick = `${room.wantedNick}_`;
        this.#scheduleRejoin(room);
        break;
      case 'none':
        break;
    }
  }

  #join(room: MucRoom): void {
    const xmpp = this.#host.client();
    if (!xmpp || !this.#host.connected()) return;
    room.joining();
    const attempt = room.ownNick;
    xmpp
      .send(
        xml(
          'presence',
          { to: `${room.jid}/${room.wantedNick}` },
          xml('x', { xmlns: NS.muc }, xml('history', { maxstanzas: '0' })),
        ),
      )
      .catch(() => undefined);
    this.#host.later(this.#o.joinTimeoutMs, () => {
      if (room.status === 'joining' && room.ownNick === attempt) {
        this.#host.log.warn({ room: room.jid }, 'xmpp room join not answered; trying again');
        this.#scheduleRejoin(room);
      }
    });
  }

  #scheduleRejoin(room: MucRoom): void {
    const attempt = this.#rejoinAttempts.get(room.jid) ?? 0;
    this.#rejoinAttempts.set(room.jid, attempt + 1);
    room.reset();
    this.#host.later(backoffDelay(attempt, this.#o.backoff), () => {
      if (room.status === 'left') this.#join(room);
    });
  }

  #startSelfPing(): void {
    clearInterval(this.#pingTimer);
    this.#pingTimer = setInterval(() => {
      for (const room of this.#rooms.values()) if (room.joined) void this.#selfPing(room);
    }, this.#o.selfPingIntervalMs);
    this.#pingTimer.unref();
  }

  /** XEP-0410: pings the bot's own occupant JID; an error that means "not an occupant" rejoins. */
  async #selfPing(room: MucRoom): Promise<void> {
    const xmpp = this.#host.client();
    if (!xmpp || !this.#host.connected() || room.status !== 'joined') return;
    const nick = room.ownNick;
    let condition: string | undefined;
    try {
      await xmpp.iqCaller.request(
        xml('iq', { type: 'get', to: `${room.jid}/${nick}` }, xml('ping', { xmlns: NS.ping })),
        Math.min(30_000, this.#o.selfPingIntervalMs),
      );
      return;
    } catch (error) {
      condition =
        (error as StanzaError).name === 'StanzaError' ? (error as StanzaError).condition : undefined;
    }
    const verdict = selfPingVerdict(condition);
    if (verdict !== 'gone' || this.#host.stopped() || room.ownNick !== nick || room.status !== 'joined')
      return;
    this.#host.log.warn({ room: room.jid, condition }, 'xmpp self-ping: not in the room any more; rejoining');
    this.#host.left(room, `self-ping: ${condition}`);
    room.reset();
    this.#join(room);
  }

  /** Whoever held the bot's own nick left it (or changed theirs): the bot takes it back. */
  #reclaimNick(room: MucRoom, presence: NonNullable<ReturnType<typeof readMucPresence>>): void {
    const own = this.#o.nick;
    if (presence.type !== 'unavailable' || presence.nick !== own || presence.statuses.has(STATUS.self))
      return;
    if (!room.joined || room.ownNick === own || this.#host.stopped()) return;
    this.#host.log.info(
      { room: room.jid, from: room.ownNick, to: own },
      'xmpp nick free again; taking it back',
    );
    void this.#host
      .client()
      ?.send(xml('presence', { to: `${room.jid}/${own}` }))
      .catch((error: unknown) =>
        this.#host.log.warn({ err: error, room: room.jid }, 'could not take the nick back'),
      );
  }

  #goLive(room: MucRoom): void {
    room.live = true;
    this.#host.live(room);
  }
}
