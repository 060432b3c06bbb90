// XMPP as a chat network: one account, the configured multi-user chat rooms, and direct messages.
// Holds no policy: it turns stanzas into IncomingMessage (identity from real JIDs only, see
// stanzas.ts) and sends or corrects replies. It stays connected on its own: @xmpp/reconnect retries
// with an exponential, jittered delay; a new session (the `online` event, not a stream resumption)
// rejoins every room; a XEP-0410 self-ping finds a room membership lost without notice; replies made
// while offline or before a room is joined wait in an outbox and go out once they can, with pending
// corrections of one message merged into the latest.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Client, client, type Element, type StanzaError, xml } from '@xmpp/client';
import type { Logger } from 'pino';
import { VmopsError } from '../../src/errors.ts';
import { commandText } from '../../src/grammar/addressing.ts';
import type {
  AdapterLimits,
  ChatAdapter,
  ChatTarget,
  IncomingMessage,
  MessageRef,
  Reply,
} from '../../src/types.ts';
import { settleWithin } from '../shared/settle.ts';
import { type Backoff, backoffDelay } from './backoff.ts';
import { MucRoom } from './rooms.ts';
import { streamManagementSettled, watchStreamManagementOffer } from './session.ts';
import {
  bareJid,
  type NormalizeContext,
  NS,
  normalizeMessage,
  readMucPresence,
  STATUS,
  selfPingVerdict,
  splitJid,
} from './stanzas.ts';

export interface XmppAdapterOptions {
  /** The bot's bare JID (`vmops@example.org`). */
  jid: string;
  password: string;
  /** Where to connect: `xmpp://host:5222` (STARTTLS whenever offered), `xmpps://host:5223`, `wss://…`. */
  service: string;
  /** The XMPP domain, when it differs from the JID's. */
  domain?: string;
  /** Resource to bind; default: the server picks one. */
  resource?: string;
  /** Nick in every room. */
  nick: string;
  /** The name the pipeline answers to (`config.bot.name`), to tell an addressed message. */
  botName: string;
  /** Room JIDs to join. */
  rooms: readonly string[];
  /** Edit status messages in place with XEP-0308 corrections. */
  corrections: boolean;
  minEditIntervalMs: number;
  maxMessageLength: number;
  /** How often each joined room is self-pinged (ms). */
  selfPingIntervalMs: number;
  log: Logger;
  /** Wait before reconnecting and rejoining (default 1 s doubling up to 60 s). */
  backoff?: Backoff;
  /** A join without an answer within this long is tried again (ms; default 20 s). */
  joinTimeoutMs?: number;
  now?: () => number;
}

interface AdapterEvents {
  /** A new session is established (not a resumption). */
  online: [];
  /** The connection is lost; replies wait in the outbox. */
  offline: [];
  /** The bot is in a room and its messages are live (after the self-presence, history and subject). */
  joined: [room: string];
  /** The bot is out of a room. */
  left: [room: string, reason: string];
}

/** A message waiting to be sent. */
interface Outgoing {
  id: string;
  to: string;
  type: 'groupchat' | 'chat';
  body: string;
  /** Id of the first message this one corrects (XEP-0308). */
  replaces?: string;
  /** The configured room the message needs to be joined to (groupchat and private messages). */
  room?: string;
  /** A private message to a room occupant. */
  privateInRoom: boolean;
}

const OUTBOX_LIMIT = 1000;

/** How long after its self-presence a room that sends no subject is taken as live (ms). */
const SUBJECT_WAIT_MS = 5000;

/** How long stop() lets the outbox drain (ms). */
const STOP_DRAIN_MS = 3000;

export class XmppAdapter extends EventEmitter<AdapterEvents> implements ChatAdapter {
  readonly network = 'xmpp';
  readonly limits: AdapterLimits;
  readonly #options: XmppAdapterOptions;
  readonly #ownJid: string;
  readonly #rooms = new Map<string, MucRoom>();
  readonly #backoff: Backoff;
  #client: Client | undefined;
  #onMessage: ((message: IncomingMessage) => Promise<void>) | undefined;
  #connected = false;
  #stopped = false;
  #reconnectAttempt = 0;
  #outbox: Outgoing[] = [];
  /** Sent under stream management and not yet acknowledged, by stanza id. */
  readonly #unacked = new Map<string, Outgoing>();
  #draining: Promise<void> = Promise.resolve();
  #inbox: Promise<void> = Promise.resolve();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #rejoinAttempts = new Map<string, number>();
  #pingTimer: NodeJS.Timeout | undefined;

  constructor(options: XmppAdapterOptions) {
    super();
    const own = bareJid(options.jid);
    if (!own?.includes('@')) {
      throw new VmopsError(
        'config_invalid',
        `networks.xmpp.jid: "${options.jid}" is not a bare JID like vmops@example.org`,
      );
    }
    this.#options = options;
    this.#ownJid = own;
    this.#backoff = options.backoff ?? { baseMs: 1000, maxMs: 60_000 };
    this.limits = {
      canEdit: options.corrections,
      minEditIntervalMs: options.minEditIntervalMs,
      maxMessageLength: options.maxMessageLength,
    };
    for (const room of options.rooms) {
      const bare = bareJid(room);
      if (!bare) throw new VmopsError('config_invalid', `networks.xmpp.rooms: "${room}" is not a room JID`);
      this.#rooms.set(bare, new MucRoom(bare, options.nick));
    }
  }

  /** The bot's bare JID. */
  get jid(): string {
    return this.#ownJid;
  }

  /** Rooms the bot is in now. */
  joinedRooms(): string[] {
    return [...this.#rooms.values()].filter((r) => r.joined).map((r) => r.jid);
  }

  /** Messages waiting to be sent. */
  get pending(): number {
    return this.#outbox.length;
  }

  async start(onMessage: (message: IncomingMessage) => Promise<void>): Promise<void> {
    if (this.#client) throw new Error('the xmpp adapter is already started');
    this.#onMessage = onMessage;
    const options = this.#options;
    const [local = '', domain = ''] = this.#ownJid.split('@');
    const xmpp = client({
      service: options.service,
      domain: options.domain ?? domain,
      username: local,
      password: options.password,
      ...(options.resource ? { resource: options.resource } : {}),
    });
    this.#client = xmpp;
    const log = options.log;

    xmpp.on('error', (error) => {
      if (this.#stopped) return;
      log.warn(
        { err: { name: error.name, message: error.message, condition: error.condition } },
        'xmpp error',
      );
    });
    xmpp.on('status', (status) => {
      if (status === 'disconnect' && this.#connected) {
        this.#connected = false;
        log.warn('xmpp connection lost; replies wait until it is back');
        this.emit('offline');
      }
    });
    const smOffered = watchStreamManagementOffer(xmpp);
    xmpp.on('online', () => {
      // Nothing goes out before stream management is settled (see session.ts).
      void streamManagementSettled(xmpp, smOffered()).then(() => this.#onOnline());
    });
    xmpp.on('stanza', (stanza) => {
      if (this.#stopped) return;
      try {
        this.#onStanza(stanza);
      } catch (error) {
        log.warn({ err: error }, 'xmpp stanza could not be handled');
      }
    });
    // Exponential backoff with jitter: @xmpp/reconnect reads `delay` when it sees a disconnect.
    xmpp.reconnect.delay = backoffDelay(0, this.#backoff);
    xmpp.reconnect.on('reconnecting', () => {
      this.#reconnectAttempt += 1;
      xmpp.reconnect.delay = backoffDelay(this.#reconnectAttempt, this.#backoff);
      log.info({ attempt: this.#reconnectAttempt }, 'xmpp reconnecting');
    });
    const sm = xmpp.streamManagement;
    sm.on('resumed', () => this.#onResumed());
    sm.on('ack', (stanza: Element) => {
      if (stanza.attrs.id) this.#unacked.delete(stanza.attrs.id);
    });
    // Sent but never acknowledged by a session that could not be resumed: send again.
    sm.on('fail', (stanza: Element) => this.#requeue(stanza));

    // The first session is ready (available, rooms being joined) when `online` is emitted.
    // (Or lost before that: then start() returns and the adapter carries on reconnecting.)
    const ready = new Promise<void>((resolve) => {
      this.once('online', () => resolve());
      xmpp.on('status', (status) => {
        if (status === 'disconnect') resolve();
      });
    });
    try {
      await xmpp.start();
      await ready;
    } catch (error) {
      const condition = (error as { condition?: string }).condition;
      if ((error as Error).name === 'SASLError') {
        await this.stop();
        throw new VmopsError(
          'config_invalid',
          `the XMPP server refused the login of ${this.#ownJid} (${condition ?? (error as Error).message}): check networks.xmpp.jid and password`,
        );
      }
      // Unreachable for now: @xmpp/reconnect keeps trying, replies wait in the outbox.
      log.warn({ err: { message: (error as Error).message } }, 'xmpp server not reachable yet; retrying');
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#onMessage = undefined;
    clearInterval(this.#pingTimer);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const xmpp = this.#client;
    if (!xmpp) return;
    xmpp.reconnect.stop();
    if (this.#connected && this.#outbox.length > 0) {
      await settleWithin(this.#drain(), STOP_DRAIN_MS);
    }
    this.#connected = false;
    await settleWithin(xmpp.stop(), 5000);
    await this.#inbox;
  }

  /** A session with the server is up (it may be resuming rooms). */
  connected(): boolean {
    return this.#connected && !this.#stopped;
  }

  directTarget(account: string): ChatTarget {
    return { network: this.network, room: bareJid(account) ?? account, isDirect: true };
  }

  async send(target: ChatTarget, reply: Reply): Promise<MessageRef> {
    const id = `vmops-${randomUUID()}`;
    this.#enqueue(this.#outgoing(target.room, !target.isDirect, id, reply.text));
    await this.#drain();
    return { network: this.network, room: target.room, id };
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    const isRoom = this.#rooms.has(ref.room);
    const next = this.#outgoing(ref.room, isRoom, `vmops-${randomUUID()}`, reply.text);
    if (this.#options.corrections) {
      next.replaces = ref.id;
      // Corrections of one message still waiting merge: only the latest goes out.
      this.#outbox = this.#outbox.filter((o) => o.replaces !== ref.id);
    }
    this.#enqueue(next);
    await this.#drain();
  }

  #outgoing(to: string, groupchat: boolean, id: string, body: string): Outgoing {
    const parts = splitJid(to);
    const bare = parts?.bare ?? to;
    const inRoom = this.#rooms.has(bare);
    if (groupchat)
      return {
        id,
        to: bare,
        type: 'groupchat',
        body,
        ...(inRoom ? { room: bare } : {}),
        privateInRoom: false,
      };
    const privateInRoom = inRoom && parts !== undefined && parts.resource !== '';
    return {
      id,
      to: privateInRoom ? to : bare,
      type: 'chat',
      body,
      ...(privateInRoom ? { room: bare } : {}),
      privateInRoom,
    };
  }

  #enqueue(outgoing: Outgoing): void {
    this.#outbox.push(outgoing);
    if (this.#outbox.length > OUTBOX_LIMIT) {
      const dropped = this.#outbox.shift();
      this.#options.log.warn({ to: dropped?.to }, 'xmpp outbox full; the oldest waiting message is dropped');
    }
  }

  #requeue(stanza: Element): void {
    const id = stanza.attrs.id;
    const outgoing = id ? this.#unacked.get(id) : undefined;
    if (!outgoing || !id) return;
    this.#unacked.delete(id);
    if (this.#stopped) return;
    // A newer correction of the same message already waits: this one is out of date.
    if (outgoing.replaces && this.#outbox.some((o) => o.replaces === outgoing.replaces)) return;
    this.#outbox.unshift(outgoing);
  }

  /** Sends what can be sent now, in order; a room not joined holds its own messages back only. */
  #drain(): Promise<void> {
    this.#draining = this.#draining.then(async () => {
      const held = new Set<string>();
      for (const outgoing of [...this.#outbox]) {
        const xmpp = this.#client;
        if (!xmpp || !this.#connected) return;
        if (outgoing.room && (held.has(outgoing.room) || !this.#rooms.get(outgoing.room)?.joined)) {
          if (outgoing.room) held.add(outgoing.room);
          continue;
        }
        if (!this.#outbox.includes(outgoing)) continue; // merged into a newer correction meanwhile
        try {
          const tracked = xmpp.streamManagement.enabled;
          await xmpp.send(this.#stanza(outgoing));
          if (tracked) this.#unacked.set(outgoing.id, outgoing);
          this.#outbox = this.#outbox.filter((o) => o !== outgoing);
        } catch (error) {
          this.#options.log.warn({ err: error }, 'xmpp send failed; the message waits for the connection');
          return;
        }
      }
    });
    return this.#draining;
  }

  #stanza(outgoing: Outgoing): Element {
    return xml(
      'message',
      { to: outgoing.to, type: outgoing.type, id: outgoing.id },
      xml('body', {}, outgoing.body),
      outgoing.replaces ? xml('replace', { xmlns: NS.correct, id: outgoing.replaces }) : undefined,
      outgoing.privateInRoom ? xml('x', { xmlns: NS.mucUser }) : undefined,
      xml('origin-id', { xmlns: NS.stanzaId, id: outgoing.id }),
    );
  }

  async #onOnline(): Promise<void> {
    const xmpp = this.#client;
    if (!xmpp) return;
    if (this.#stopped) {
      await xmpp.stop().catch(() => undefined);
      return;
    }
    this.#connected = true;
    this.#reconnectAttempt = 0;
    xmpp.reconnect.delay = backoffDelay(0, this.#backoff);
    try {
      // Available, so messages to the bare JID reach this session.
      await xmpp.send(xml('presence'));
    } catch {
      return; // lost again at once; the next session starts over
    }
    // A round trip to the server: once it answers, it has handled the presence too (one stream is
    // handled in order), so a direct message sent from now on reaches this session live instead of
    // going to offline storage and coming back later marked delayed (backlog, judged by its age).
    const server = xmpp.jid?.domain ?? this.#ownJid.split('@')[1] ?? '';
    await xmpp.iqCaller
      .request(xml('iq', { type: 'get', to: server }, xml('ping', { xmlns: NS.ping })), 10_000)
      .catch(() => undefined); // a server without ping still got the presence first
    if (this.#stopped || this.#client !== xmpp) return;
    this.#options.log.info({ jid: xmpp.jid?.toString() }, 'xmpp online');
    this.emit('online');
    // A new session: every room must be joined again.
    for (const room of this.#rooms.values()) {
      room.reset();
      this.#rejoinAttempts.delete(room.jid);
      this.#join(room);
    }
    this.#startSelfPing();
    void this.#drain();
  }

  #onResumed(): void {
    if (this.#stopped) return;
    this.#connected = true;
    this.#reconnectAttempt = 0;
    if (this.#client) this.#client.reconnect.delay = backoffDelay(0, this.#backoff);
    this.#options.log.info('xmpp session resumed');
    // Room memberships survive a resumption, unless the service dropped us meanwhile: ask.
    for (const room of this.#rooms.values()) void this.#selfPing(room);
    void this.#drain();
  }

  #join(room: MucRoom): void {
    const xmpp = this.#client;
    if (!xmpp || this.#stopped || !this.#connected) return;
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
    this.#later(this.#options.joinTimeoutMs ?? 20_000, () => {
      if (room.status === 'joining' && room.ownNick === attempt) {
        this.#options.log.warn({ room: room.jid }, 'xmpp room join not answered; trying again');
        this.#scheduleRejoin(room);
      }
    });
  }

  #scheduleRejoin(room: MucRoom): void {
    const attempt = this.#rejoinAttempts.get(room.jid) ?? 0;
    this.#rejoinAttempts.set(room.jid, attempt + 1);
    room.reset();
    this.#later(backoffDelay(attempt, this.#backoff), () => {
      if (room.status === 'left') this.#join(room);
    });
  }

  #later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#stopped) run();
    }, ms);
    this.#timers.add(timer);
  }

  #startSelfPing(): void {
    clearInterval(this.#pingTimer);
    this.#pingTimer = setInterval(() => {
      for (const room of this.#rooms.values()) if (room.joined) void this.#selfPing(room);
    }, this.#options.selfPingIntervalMs);
    this.#pingTimer.unref();
  }

  /** XEP-0410: pings the bot's own occupant JID; an error that means "not an occupant" rejoins. */
  async #selfPing(room: MucRoom): Promise<void> {
    const xmpp = this.#client;
    if (!xmpp || !this.#connected || room.status !== 'joined') return;
    const nick = room.ownNick;
    let condition: string | undefined;
    try {
      await xmpp.iqCaller.request(
        xml('iq', { type: 'get', to: `${room.jid}/${nick}` }, xml('ping', { xmlns: NS.ping })),
        Math.min(30_000, this.#options.selfPingIntervalMs),
      );
      return;
    } catch (error) {
      condition =
        (error as StanzaError).name === 'StanzaError' ? (error as StanzaError).condition : undefined;
    }
    const verdict = selfPingVerdict(condition);
    if (verdict !== 'gone' || this.#stopped || room.ownNick !== nick || room.status !== 'joined') return;
    this.#options.log.warn(
      { room: room.jid, condition },
      'xmpp self-ping: not in the room any more; rejoining',
    );
    this.emit('left', room.jid, `self-ping: ${condition}`);
    room.reset();
    this.#join(room);
  }

  #onStanza(stanza: Element): void {
    if (stanza.name === 'presence') {
      this.#onPresence(stanza);
      return;
    }
    if (stanza.name !== 'message') return;
    const from = splitJid(stanza.attrs.from);
    const room = from ? this.#rooms.get(from.bare) : undefined;
    if (room && stanza.attrs.type === 'error') {
      this.#onRoomError(room, stanza);
      return;
    }
    if (
      room &&
      stanza.attrs.type === 'groupchat' &&
      stanza.getChild('subject') &&
      stanza.getChildText('body') === null
    ) {
      // The subject comes last in a join (after presences and history): from here on messages are live.
      if (room.status === 'joined' && !room.live) this.#goLive(room);
      return;
    }
    if (room && from?.resource === '' && stanza.attrs.type === 'groupchat') {
      const statuses = stanza
        .getChild('x', NS.mucUser)
        ?.getChildren('status')
        .map((s) => Number(s.attrs.code));
      if (statuses && statuses.length > 0) room.configurationChanged(new Set(statuses));
      return;
    }
    const normalized = normalizeMessage(stanza, this.#context());
    if ('drop' in normalized) {
      if (stanza.getChildText('body') !== null)
        this.#options.log.debug({ from: stanza.attrs.from, reason: normalized.drop }, 'xmpp message dropped');
      return;
    }
    const { message, anonymous } = normalized;
    if (
      anonymous &&
      room &&
      !room.anonymityNoticeSent &&
      commandText(message, this.#options.botName) !== undefined
    ) {
      room.anonymityNoticeSent = true;
      void this.send(
        { network: this.network, room: room.jid, isDirect: false },
        { text: anonymityNotice(room.jid, this.#options.botName), tone: 'error' },
      );
    }
    this.#deliver(message);
  }

  #context(): NormalizeContext {
    // The bot answers to the nick it has in each room, the fallback one too when its own was taken.
    const nicks = [...this.#rooms.values()].map((r) => r.ownNick);
    const names = [...new Set([this.#options.nick, this.#options.botName, ...nicks])];
    return {
      ownJid: this.#ownJid,
      room: (bare) => this.#rooms.get(bare),
      names,
      now: (this.#options.now ?? Date.now)(),
      randomId: () => randomUUID(),
    };
  }

  /** Messages are handed over one at a time, in the order they arrived. */
  #deliver(message: IncomingMessage): void {
    this.#inbox = this.#inbox.then(async () => {
      const onMessage = this.#onMessage;
      if (!onMessage || this.#stopped) return;
      try {
        await onMessage(message);
      } catch (error) {
        this.#options.log.error({ err: error, eventId: message.eventId }, 'xmpp message handling failed');
      }
    });
  }

  #onPresence(stanza: Element): void {
    const presence = readMucPresence(stanza);
    if (!presence) return;
    const room = this.#rooms.get(presence.room);
    if (!room) return;
    const change = room.apply(presence);
    const log = this.#options.log.child({ room: room.jid });
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
        this.#later(SUBJECT_WAIT_MS, () => {
          if (room.session === session && room.status === 'joined' && !room.live) this.#goLive(room);
        });
        void this.#drain();
        break;
      }
      case 'left':
        log.warn({ reason: change.reason }, 'xmpp room left');
        this.emit('left', room.jid, change.reason);
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

  /** Whoever held the bot's own nick left it (or changed theirs): the bot takes it back. */
  #reclaimNick(room: MucRoom, presence: ReturnType<typeof readMucPresence> & object): void {
    const own = this.#options.nick;
    if (presence.type !== 'unavailable' || presence.nick !== own || presence.statuses.has(STATUS.self))
      return;
    if (!room.joined || room.ownNick === own || this.#stopped) return;
    this.#options.log.info(
      { room: room.jid, from: room.ownNick, to: own },
      'xmpp nick free again; taking it back',
    );
    void this.#client
      ?.send(xml('presence', { to: `${room.jid}/${own}` }))
      .catch((error: unknown) =>
        this.#options.log.warn({ err: error, room: room.jid }, 'could not take the nick back'),
      );
  }

  #goLive(room: MucRoom): void {
    room.live = true;
    this.emit('joined', room.jid);
  }

  /** An error bounced from a room: `not-acceptable` says the bot is not an occupant any more. */
  #onRoomError(room: MucRoom, stanza: Element): void {
    const condition = stanza.getChild('error')?.getChildElements()[0]?.name;
    this.#options.log.warn({ room: room.jid, condition }, 'xmpp room returned an error');
    if (condition === 'not-acceptable' && room.joined) {
      this.emit('left', room.jid, 'not an occupant');
      room.reset();
      this.#join(room);
    }
  }
}

/** What the room is told, once, when a command comes from someone whose real JID it hides. */
function anonymityNotice(room: string, botName: string): string {
  return (
    `${botName} cannot see the real JIDs of the people in ${room}: the room is (semi-)anonymous, so a nickname ` +
    `is all ${botName} would know, and a nickname proves nothing. Every command said here is treated as ` +
    `coming from a guest and refused. To fix it, make the room non-anonymous (room configuration: ` +
    `"Who may discover real JIDs" → anyone, muc#roomconfig_whois=anyone), or make ${botName} a moderator ` +
    `of the room (admin or owner). Direct messages to ${botName} work meanwhile.`
  );
}
