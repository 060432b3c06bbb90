// XMPP as a chat network: one account, the configured multi-user chat rooms, and direct messages.
// Holds no policy: it turns stanzas into IncomingMessage (inbound.ts; identity from real JIDs only,
// see stanzas.ts) and sends each message or correction once (sending.ts), a room's counted as sent
// when the room showed it, not when the server had it (room-deliveries.ts). It stays connected on its
// own: @xmpp/reconnect retries with an exponential, jittered delay; a new session (the `online`
// event, not a stream resumption) rejoins every room (room-membership.ts, which also finds a room
// membership lost without notice). Waiting for the connection and the room, merging pending
// corrections of one message, and trying again are the outbox's (src/outbox/): `whenSendable` tells
// it when a room can be sent to again.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Client, client } from '@xmpp/client';
import { SendFailure } from '../../src/chat/send-failure.ts';
import { VmopsError } from '../../src/errors.ts';
import type {
  AdapterLimits,
  ChatAdapter,
  ChatTarget,
  IncomingMessage,
  MessageRef,
  Reply,
  SendOptions,
} from '../../src/types.ts';
import { settleWithin } from '../shared/settle.ts';
import { type Backoff, backoffDelay } from './backoff.ts';
import { readMessageStanza } from './inbound.ts';
import type { XmppAdapterOptions } from './options.ts';
import { RoomDeliveries } from './room-deliveries.ts';
import { RoomMembership } from './room-membership.ts';
import { MucRoom } from './rooms.ts';
import {
  Acknowledgements,
  messageStanza,
  notSendable,
  type Outgoing,
  outgoing,
  SendableGate,
} from './sending.ts';
import { becomeAvailable, streamManagementSettled, watchStreamManagementOffer } from './session.ts';
import { bareJid } from './stanzas.ts';

export type { XmppAdapterOptions } from './options.ts';

interface AdapterEvents {
  /** A new session is established (not a resumption). */
  online: [];
  /** The connection is lost; messages wait in the outbox. */
  offline: [];
  /** The bot is in a room and its messages are live (after the self-presence, history and subject). */
  joined: [room: string];
  /** The bot is out of a room. */
  left: [room: string, reason: string];
}

export class XmppAdapter extends EventEmitter<AdapterEvents> implements ChatAdapter {
  readonly network = 'xmpp';
  readonly limits: AdapterLimits;
  readonly #options: XmppAdapterOptions;
  readonly #ownJid: string;
  readonly #rooms = new Map<string, MucRoom>();
  readonly #backoff: Backoff;
  readonly #membership: RoomMembership;
  #client: Client | undefined;
  #acks: Acknowledgements | undefined;
  /** Room messages sent and not yet reflected or refused by their room. */
  readonly #deliveries: RoomDeliveries;
  #onMessage: ((message: IncomingMessage) => Promise<void>) | undefined;
  #connected = false;
  #stopped = false;
  #reconnectAttempt = 0;
  #inbox: Promise<void> = Promise.resolve();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Outbox lanes waiting for a room to be sendable. */
  readonly #gate = new SendableGate((room) => this.#stopped || this.#sendable(room));

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
    this.#deliveries = new RoomDeliveries({
      ...(options.roomBusyWaitMs === undefined ? {} : { busyWaitMs: options.roomBusyWaitMs }),
    });
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
    this.#membership = new RoomMembership(
      this.#rooms,
      {
        client: () => this.#client,
        connected: () => this.connected(),
        stopped: () => this.#stopped,
        later: (ms, run) => this.#later(ms, run),
        joined: () => this.#gate.check(),
        live: (room) => this.emit('joined', room.jid),
        left: (room, reason) => this.emit('left', room.jid, reason),
        log: options.log,
      },
      {
        nick: options.nick,
        backoff: this.#backoff,
        joinTimeoutMs: options.joinTimeoutMs ?? 20_000,
        selfPingIntervalMs: options.selfPingIntervalMs,
      },
    );
  }

  /** The bot's bare JID. */
  get jid(): string {
    return this.#ownJid;
  }

  /** Rooms the bot is in now. */
  joinedRooms(): string[] {
    return [...this.#rooms.values()].filter((r) => r.joined).map((r) => r.jid);
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
    this.#acks = new Acknowledgements(xmpp);
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
        log.warn('xmpp connection lost; messages wait until it is back');
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
        if (stanza.name === 'presence') this.#membership.presence(stanza);
        else
          readMessageStanza(stanza, {
            ownJid: this.#ownJid,
            nick: options.nick,
            botName: options.botName,
            rooms: this.#rooms,
            membership: this.#membership,
            deliveries: this.#deliveries,
            deliver: (message) => this.#deliver(message),
            log,
            now: options.now ?? Date.now,
          });
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
    xmpp.streamManagement.on('resumed', () => this.#onResumed());
    // A send resolves on the server's acknowledgement and a room's messages go one after the other:
    // ask for it at once rather than after the default 250 ms lull (one small <r/> per message).
    xmpp.streamManagement.requestAckDebounce = 0;

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
      // Unreachable for now: @xmpp/reconnect keeps trying, messages wait in the outbox.
      log.warn({ err: { message: (error as Error).message } }, 'xmpp server not reachable yet; retrying');
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#onMessage = undefined;
    this.#membership.stop();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#acks?.failAll();
    this.#deliveries.failAll();
    this.#gate.check();
    const xmpp = this.#client;
    if (!xmpp) return;
    xmpp.reconnect.stop();
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

  /** Connected, and in the room where the message needs that; stopped: at once (a send then fails for good). */
  whenSendable(room: string): Promise<void> {
    return this.#gate.when(room);
  }

  async send(target: ChatTarget, reply: Reply, options: SendOptions = {}): Promise<MessageRef> {
    const id = options.txnId ?? `vmops-${randomUUID()}`;
    await this.#sendOnce(this.#outgoing(target.room, !target.isDirect, id, reply.text));
    return { network: this.network, room: target.room, id };
  }

  async edit(ref: MessageRef, reply: Reply, options: SendOptions = {}): Promise<void> {
    const id = options.txnId ?? `vmops-${randomUUID()}`;
    const next = this.#outgoing(ref.room, this.#rooms.has(ref.room), id, reply.text);
    if (this.#options.corrections) next.replaces = ref.id;
    await this.#sendOnce(next);
  }

  #outgoing(to: string, groupchat: boolean, id: string, body: string): Outgoing {
    return outgoing(to, groupchat, id, body, (bare) => this.#rooms.has(bare));
  }

  /** Connected, and in the room when the message goes to a configured room (or one of its occupants). */
  #sendable(room: string): boolean {
    if (!this.connected()) return false;
    const muc = this.#rooms.get(bareJid(room) ?? room);
    return muc === undefined || muc.joined;
  }

  /**
   * Sends one stanza; resolves once the server has it (acknowledged, under stream management) and, for
   * a room message, once the room took it (reflected it; a bounce fails the send: room-deliveries.ts).
   */
  async #sendOnce(message: Outgoing): Promise<void> {
    const xmpp = this.#client;
    if (this.#stopped)
      throw new SendFailure('the XMPP adapter stopped', { retryable: false, platformCode: 'stopped' });
    if (!xmpp || !this.connected()) throw notSendable('not connected to the XMPP server', 'not_connected');
    if (message.room && !this.#rooms.get(message.room)?.joined)
      throw notSendable(`not in the room ${message.room} (yet)`, 'not_joined');
    const acked = xmpp.streamManagement.enabled ? this.#acks?.expect(message.id) : undefined;
    const taken =
      message.type === 'groupchat' && message.room
        ? this.#deliveries.expect(message.id, message.room)
        : undefined;
    taken?.catch(() => undefined); // awaited below, unless the send fails first
    try {
      await xmpp.send(messageStanza(message));
    } catch (error) {
      this.#acks?.forget(message.id);
      this.#deliveries.forget(message.id);
      throw notSendable('the XMPP connection failed while sending', 'send_failed', error);
    }
    try {
      await acked;
      await taken;
    } finally {
      this.#deliveries.forget(message.id); // settled, or not to be waited for: the session was lost
    }
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
    const server = xmpp.jid?.domain ?? this.#ownJid.split('@')[1] ?? '';
    if (!(await becomeAvailable(xmpp, server))) return; // lost again at once; the next session starts over
    if (this.#stopped || this.#client !== xmpp) return;
    this.#options.log.info({ jid: xmpp.jid?.toString() }, 'xmpp online');
    this.emit('online');
    this.#membership.joinAll();
    this.#gate.check();
  }

  #onResumed(): void {
    if (this.#stopped) return;
    this.#connected = true;
    this.#reconnectAttempt = 0;
    if (this.#client) this.#client.reconnect.delay = backoffDelay(0, this.#backoff);
    this.#options.log.info('xmpp session resumed');
    this.#membership.checkAll();
    this.#gate.check();
  }

  #later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#stopped) run();
    }, ms);
    this.#timers.add(timer);
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
}
