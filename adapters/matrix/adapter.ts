// Matrix as a chat network, through matrix-js-sdk: one account (access token, or password with the
// device id kept in Redis), the configured rooms, invites from people in config (or to rooms on an
// allow-list), and direct chats. Holds no policy: it turns room messages into IncomingMessage
// (identity from the sender's user id only, see events.ts) and sends or edits notices.
//
// No replays: nothing in the first sync is acted on (the gate is client.isInitialSyncComplete());
// the sync position is kept in Redis after each batch was handled, and the next start resumes from
// it, so the homeserver hands only what came while the bot was away. Commands from that time, and
// commands older than bot.maxMessageAge, are not run: each is claimed under the pipeline's own
// event key (so no instance runs it later) and the room is told once which ones were ignored.
// Encrypted rooms cannot be read (no E2EE here): the room and the log are told so, once.
// Sending is one PUT per send or edit, never queued or retried here: the core's outbox paces by
// `limits.sendBudget` (the homeserver counts every event of the account together), waits out 429s
// and retries what send-errors.ts calls retryable, always with the transaction id it gave, so the
// homeserver stores a message once however often it is tried.
import './sdk-log.ts';
import type { Redis } from 'ioredis';
import {
  ClientEvent,
  createClient,
  EventType,
  type MatrixClient,
  type MatrixEvent,
  Method,
  Preset,
  type Room,
  RoomEvent,
  SyncState,
} from 'matrix-js-sdk';
import type { Logger } from 'pino';
import { VmopsError } from '../../src/errors.ts';
import { commandText } from '../../src/grammar/addressing.ts';
import { connectRedis, type RedisTarget } from '../../src/redis/connect.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { SendFailure } from '../../src/send-failure.ts';
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
import { editContent, type Normalized, normalizeEvent, noticeContent } from './events.ts';
import { sdkLogger, setSdkLogSink } from './sdk-log.ts';
import { asSendFailure } from './send-errors.ts';
import {
  type MatrixKeys,
  matrixKeys,
  ResumingStore,
  readSyncPosition,
  type SyncPosition,
  writeSyncPosition,
} from './sync-store.ts';

export interface MatrixAdapterOptions {
  /** Base URL of the homeserver's client-server API: https://matrix.example.org. */
  homeserverUrl: string;
  /** The bot's user id: @vmops:example.org. */
  userId: string;
  /** Access token of the bot's device; or give `password`. */
  accessToken?: string;
  /** Password: the bot logs in once, and keeps its access token and device id in Redis. */
  password?: string;
  /** Device id to log in as (password) or of the access token. */
  deviceId?: string;
  /** The name the pipeline answers to (`config.bot.name`). */
  botName: string;
  /** Room ids or aliases to join at start. */
  rooms: readonly string[];
  /** User ids whose invites are accepted (the people in config). */
  inviters: readonly string[];
  /** Rooms (ids or aliases) whose invites are accepted from anyone. */
  inviteRooms: readonly string[];
  minEditIntervalMs: number;
  maxMessageLength: number;
  /** The homeserver's message rate limit for the bot's account (Synapse default 0.2/s, burst 10). */
  rateLimit: { perSecond: number; burst: number };
  /** Commands older than this are not run (config bot.maxMessageAge, ms). */
  maxMessageAgeMs: number;
  /** Redis for the sync position, the session and notices, under `prefix`. */
  redisUrl: RedisTarget;
  prefix: string;
  log: Logger;
  /** How long the homeserver may hold a /sync open (ms; default 30 s). */
  pollTimeoutMs?: number;
  /** How long start() waits for the first sync before carrying on in the background (ms; default 30 s). */
  startTimeoutMs?: number;
  now?: () => number;
}

/** A timeline event, noted during a sync and handled once the sync is processed. */
interface Noted {
  event: MatrixEvent;
  roomId: string;
  /** It came before the first sync was complete (history, or sent while the bot was away). */
  early: boolean;
}

const REMEMBER_MS = 7 * 24 * 3600_000;
const AWAY_LISTED = 5;

export const ENCRYPTED_NOTICE =
  '🔒 This room is end-to-end encrypted, and vmops cannot read encrypted messages: commands sent here are not seen. ' +
  'Talk to vmops in an unencrypted room, or in a direct chat it starts (it answers there).';

export class MatrixAdapter implements ChatAdapter {
  readonly network = 'matrix';
  readonly limits: AdapterLimits;
  readonly #o: MatrixAdapterOptions;
  readonly #keys: MatrixKeys;
  readonly #abort = new AbortController();
  readonly #inviters: Set<string>;
  readonly #inviteRooms: Set<string>;
  /** Room ids of the configured rooms (never direct chats). */
  readonly #configured = new Set<string>();
  readonly #encrypted = new Set<string>();
  readonly #encryptedDue = new Set<string>();
  readonly #directness = new Map<string, Promise<boolean>>();
  readonly #dmRooms = new Map<string, Promise<string>>();
  #client: MatrixClient | undefined;
  #redis: Redis | undefined;
  #onMessage: ((message: IncomingMessage) => Promise<void>) | undefined;
  #stopped = false;
  #inbox: Promise<void> = Promise.resolve();
  #noted: Noted[] = [];
  /** Where the previous run stopped, when it left a position. */
  #resumedFrom: SyncPosition | undefined;
  #syncErrorLogged = false;
  /** Events sent, for logs and tests. */
  #sent = 0;
  #txnCounter = 0;

  constructor(options: MatrixAdapterOptions) {
    if (!/^@[^:\s]+:\S+$/.test(options.userId)) {
      throw new VmopsError(
        'config_invalid',
        `networks.matrix.userId: "${options.userId}" is not a Matrix user id like @vmops:example.org`,
      );
    }
    if (!options.accessToken && !options.password) {
      throw new VmopsError('config_invalid', 'networks.matrix needs accessToken or password');
    }
    this.#o = options;
    this.#keys = matrixKeys(options.prefix, options.userId);
    this.#inviters = new Set(options.inviters);
    this.#inviteRooms = new Set(options.inviteRooms);
    this.limits = {
      canEdit: true,
      minEditIntervalMs: options.minEditIntervalMs,
      maxMessageLength: options.maxMessageLength,
      threads: true,
      // Synapse's rc_message counts every event the account sends, in any room, edits included.
      sendBudget: { per: 'account', rate: options.rateLimit },
      editBudget: { per: 'account', rate: options.rateLimit },
    };
  }

  /** Events sent so far (for logs and tests). */
  get sendStats(): { sent: number } {
    return { sent: this.#sent };
  }

  async start(onMessage: (message: IncomingMessage) => Promise<void>): Promise<void> {
    if (this.#client) throw new Error('the matrix adapter is already started');
    const o = this.#o;
    const log = o.log;
    this.#onMessage = onMessage;
    setSdkLogSink((level, args) => {
      if (log.isLevelEnabled('debug')) log.debug({ sdk: level }, args.map(String).join(' '));
    });
    const redis = connectRedis(o.redisUrl, { name: 'vmops-matrix', log });
    this.#redis = redis;
    const session = await this.#session();
    this.#resumedFrom = await readSyncPosition(redis, this.#keys);
    const client = createClient({
      baseUrl: o.homeserverUrl,
      userId: o.userId,
      accessToken: session.accessToken,
      ...(session.deviceId ? { deviceId: session.deviceId } : {}),
      fetchFn: this.#fetch,
      store: new ResumingStore(this.#resumedFrom?.nextBatch),
      logger: sdkLogger,
    });
    this.#client = client;
    this.#listen(client);

    const first = new Promise<'prepared' | 'refused' | 'late'>((resolve) => {
      const timer = setTimeout(() => resolve('late'), o.startTimeoutMs ?? 30_000);
      const onSync = (state: SyncState, _previous: SyncState | null, data?: { error?: unknown }) => {
        const refused =
          state === SyncState.Error &&
          (data?.error as { errcode?: string } | undefined)?.errcode === 'M_UNKNOWN_TOKEN';
        if (!refused && state !== SyncState.Prepared && state !== SyncState.Syncing) return;
        clearTimeout(timer);
        client.off(ClientEvent.Sync, onSync);
        resolve(refused ? 'refused' : 'prepared');
      };
      client.on(ClientEvent.Sync, onSync);
    });
    await client.startClient({
      initialSyncLimit: 0,
      pollTimeout: o.pollTimeoutMs ?? 30_000,
      disablePresence: true,
      lazyLoadMembers: false,
    });
    const outcome = await first;
    if (outcome === 'refused') {
      await this.stop();
      throw new VmopsError(
        'config_invalid',
        `the Matrix homeserver refused the access token of ${o.userId} (M_UNKNOWN_TOKEN): check networks.matrix.accessToken`,
      );
    }
    if (outcome === 'late') {
      log.warn(
        { homeserver: o.homeserverUrl },
        'matrix first sync not done yet; carrying on in the background',
      );
    } else {
      log.info(
        { userId: o.userId, resumed: this.#resumedFrom !== undefined },
        'matrix first sync done; listening',
      );
    }
    for (const room of o.rooms) await this.#joinConfigured(room);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#onMessage = undefined;
    const client = this.#client;
    client?.stopClient();
    client?.removeAllListeners();
    await settleWithin(this.#inbox, 10_000);
    // Requests still open (a held /sync, a send) end now; the SDK's own timeout timers only abort them.
    this.#abort.abort();
    this.#redis?.disconnect();
  }

  /** The sync loop is running (not stopped, not in error or reconnecting). */
  connected(): boolean {
    const state = this.#client?.getSyncState();
    return (
      !this.#stopped &&
      (state === SyncState.Prepared || state === SyncState.Syncing || state === SyncState.Catchup)
    );
  }

  /** A user id: `send` finds (or starts) a direct chat with that user. */
  directTarget(account: string): ChatTarget {
    return { network: this.network, room: account, isDirect: true };
  }

  async send(target: ChatTarget, reply: Reply, options: SendOptions = {}): Promise<MessageRef> {
    this.#ready();
    const roomId = target.room.startsWith('@') ? await this.#dmRoom(target.room) : target.room;
    const eventId = await this.#put(roomId, noticeContent(reply, target.thread), options.txnId);
    return {
      network: this.network,
      room: roomId,
      id: eventId,
      ...(target.thread ? { thread: target.thread } : {}),
    };
  }

  async edit(ref: MessageRef, reply: Reply, options: SendOptions = {}): Promise<void> {
    this.#ready();
    await this.#put(ref.room, editContent(ref.id, reply), options.txnId);
  }

  #ready(): MatrixClient {
    if (!this.#client || this.#stopped) {
      throw new SendFailure('the matrix adapter is not running', {
        retryable: false,
        platformCode: 'stopped',
      });
    }
    return this.#client;
  }

  /** PUT /rooms/{room}/send/m.room.message/{txnId}, once; the homeserver stores one event per txnId. */
  async #put(roomId: string, content: Record<string, unknown>, txnId?: string): Promise<string> {
    const client = this.#ready();
    const txn = txnId ?? `vmops.${this.#now()}.${process.pid}.${++this.#txnCounter}`;
    const path = `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(txn)}`;
    try {
      const answer = await client.http.authedRequest<{ event_id: string }>(
        Method.Put,
        path,
        undefined,
        content,
      );
      this.#sent += 1;
      return answer.event_id;
    } catch (error) {
      throw asSendFailure(error);
    }
  }

  /** fetch, with every request ended when the adapter stops. */
  readonly #fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const signal = init?.signal ? AbortSignal.any([init.signal, this.#abort.signal]) : this.#abort.signal;
    return fetch(input, { ...init, signal });
  };

  /** The access token (and device) to use: configured, or from a password login kept in Redis. */
  async #session(): Promise<{ accessToken: string; deviceId?: string }> {
    const o = this.#o;
    if (o.accessToken) return { accessToken: o.accessToken, ...(o.deviceId ? { deviceId: o.deviceId } : {}) };
    const redis = this.#redis;
    if (!redis || !o.password)
      throw new VmopsError('config_invalid', 'networks.matrix needs accessToken or password');
    const [token, storedDevice] = await redis.hmget(this.#keys.session, 'access_token', 'device_id');
    if (token) {
      const probe = createClient({
        baseUrl: o.homeserverUrl,
        userId: o.userId,
        accessToken: token,
        fetchFn: this.#fetch,
        logger: sdkLogger,
      });
      try {
        const who = await probe.whoami();
        if (who.user_id === o.userId)
          return { accessToken: token, ...(who.device_id ? { deviceId: who.device_id } : {}) };
      } catch (error) {
        if ((error as { errcode?: string }).errcode !== 'M_UNKNOWN_TOKEN') {
          // Not reachable now: go on with the token; the sync retries until the homeserver is back.
          return { accessToken: token, ...(storedDevice ? { deviceId: storedDevice } : {}) };
        }
      }
    }
    const anonymous = createClient({ baseUrl: o.homeserverUrl, fetchFn: this.#fetch, logger: sdkLogger });
    const deviceId = storedDevice ?? o.deviceId;
    let login: { user_id: string; access_token: string; device_id?: string };
    try {
      login = await anonymous.loginRequest({
        type: 'm.login.password',
        identifier: { type: 'm.id.user', user: o.userId },
        password: o.password,
        ...(deviceId ? { device_id: deviceId } : {}),
        initial_device_display_name: 'vmops',
      });
    } catch (error) {
      const e = error as { errcode?: string; message?: string };
      throw new VmopsError(
        'config_invalid',
        `the Matrix homeserver refused the login of ${o.userId} (${e.errcode ?? e.message}): check networks.matrix.userId and password`,
      );
    }
    await redis.hset(
      this.#keys.session,
      'access_token',
      login.access_token,
      'device_id',
      login.device_id ?? '',
    );
    this.#o.log.info({ userId: login.user_id, deviceId: login.device_id }, 'matrix login done');
    return { accessToken: login.access_token, ...(login.device_id ? { deviceId: login.device_id } : {}) };
  }

  #listen(client: MatrixClient): void {
    const log = this.#o.log;
    client.on(RoomEvent.Timeline, (event, room, toStartOfTimeline) => {
      if (toStartOfTimeline || !room || this.#stopped || event.status !== null) return;
      this.#noted.push({ event, roomId: room.roomId, early: !client.isInitialSyncComplete() });
    });
    client.on(ClientEvent.Event, (event) => {
      const roomId = event.getRoomId();
      if (!roomId) return;
      const type = event.getType();
      if (type === 'm.room.member') this.#directness.delete(roomId);
      const encrypted =
        type === 'm.room.encryption' || (type === 'm.room.encrypted' && event.getSender() !== this.#o.userId);
      if (encrypted && !this.#encrypted.has(roomId)) {
        this.#encrypted.add(roomId);
        this.#encryptedDue.add(roomId);
        log.warn(
          { room: roomId, event: type },
          'matrix room is end-to-end encrypted: vmops cannot read its messages (no E2EE support); the room is told once',
        );
      }
    });
    client.on(RoomEvent.MyMembership, (room, membership) => {
      if (membership === 'invite') this.#chain(() => this.#onInvite(room));
    });
    client.on(ClientEvent.Sync, (state, _previous, data) => {
      if (state === SyncState.Error && !this.#syncErrorLogged) {
        this.#syncErrorLogged = true;
        const error = data?.error as { errcode?: string; message?: string } | undefined;
        if (error?.errcode === 'M_UNKNOWN_TOKEN') {
          log.error(
            'the Matrix homeserver refused the access token: the bot no longer syncs; give it a new one',
          );
        } else {
          log.warn({ err: { message: error?.message } }, 'matrix sync failing; retrying');
        }
      }
      if (state !== SyncState.Prepared && state !== SyncState.Syncing) return;
      this.#syncErrorLogged = false;
      const token = data?.nextSyncToken;
      const batch = this.#noted.splice(0);
      if (batch.length === 0 && this.#encryptedDue.size === 0 && !token) return;
      this.#chain(async () => {
        await this.#handleBatch(batch);
        await this.#tellEncrypted();
        // Only now that the batch is handled: a crash before this line hands it again (and the
        // pipeline's event claims keep it from running twice).
        if (token && this.#redis) {
          await writeSyncPosition(this.#redis, this.#keys, { nextBatch: token, seenAt: this.#now() });
        }
      });
    });
  }

  #chain(work: () => Promise<void>): void {
    this.#inbox = this.#inbox
      .then(async () => {
        if (!this.#stopped) await work();
      })
      .catch((error: unknown) => this.#o.log.warn({ err: error }, 'matrix event handling failed'));
  }

  async #handleBatch(batch: Noted[]): Promise<void> {
    const own = this.#o.userId;
    // A room the bot joined in this batch: what came before its join is history, not a command to it.
    const joinedAt = new Map<string, number>();
    batch.forEach(({ event, roomId }, i) => {
      if (
        event.getType() === 'm.room.member' &&
        event.getStateKey() === own &&
        event.getContent().membership === 'join' &&
        event.getPrevContent().membership !== 'join'
      ) {
        joinedAt.set(roomId, i);
      }
    });
    const away = new Map<string, IncomingMessage[]>();
    for (const [i, { event, roomId, early }] of batch.entries()) {
      if (event.getType() !== 'm.room.message') continue;
      if (i < (joinedAt.get(roomId) ?? -1)) continue;
      const normalized = await this.#normalize(event, roomId);
      if ('drop' in normalized) continue;
      const message = normalized.message;
      if (message.sender.isSelf || commandText(message, this.#o.botName) === undefined) continue;
      const tooOld = this.#now() - message.sentAt > this.#o.maxMessageAgeMs;
      if (early || tooOld) {
        // First start without a position: long-past history is no news to anyone.
        if (tooOld && !this.#resumedFrom) continue;
        if (await this.#claimIgnored(message)) {
          away.set(roomId, [...(away.get(roomId) ?? []), message]);
        }
        continue;
      }
      const deliver = this.#onMessage;
      if (!deliver) return;
      try {
        await deliver(message);
      } catch (error) {
        this.#o.log.warn({ err: error, eventId: message.eventId }, 'matrix message could not be handled');
      }
    }
    for (const [roomId, messages] of away) await this.#tellAway(roomId, messages);
  }

  /** Claims an ignored command under the pipeline's event key: no instance runs it later. */
  async #claimIgnored(message: IncomingMessage): Promise<boolean> {
    const redis = this.#redis;
    if (!redis) return false;
    const key = redisKeys(this.#o.prefix).event(this.network, message.eventId);
    return (await redis.set(key, 'ignored:away', 'PX', REMEMBER_MS, 'NX')) === 'OK';
  }

  async #tellAway(roomId: string, messages: IncomingMessage[]): Promise<void> {
    const listed = messages
      .slice(0, AWAY_LISTED)
      .map((m) => `"${(commandText(m, this.#o.botName) ?? m.text).slice(0, 80)}" (${m.sender.id})`);
    const more = messages.length > AWAY_LISTED ? ` and ${messages.length - AWAY_LISTED} more` : '';
    const text = `I was away; I ignored ${messages.length} command(s) sent before I came back: ${listed.join(', ')}${more}. Send again if still needed.`;
    this.#o.log.info(
      { room: roomId, ignored: messages.map((m) => m.eventId) },
      'matrix commands from while away ignored',
    );
    await this.send({ network: this.network, room: roomId, isDirect: false }, { text, tone: 'info' }).catch(
      (error: unknown) =>
        this.#o.log.warn({ err: error, room: roomId }, 'could not tell the room about ignored commands'),
    );
  }

  async #tellEncrypted(): Promise<void> {
    const redis = this.#redis;
    const client = this.#client;
    if (!redis || !client?.isInitialSyncComplete()) return;
    for (const roomId of [...this.#encryptedDue]) {
      const membership = client.getRoom(roomId)?.getMyMembership();
      // Seen in an invite: told once the bot is in (a declined invite is never told).
      if (membership === 'invite') continue;
      this.#encryptedDue.delete(roomId);
      if (membership === 'ban') continue;
      const key = this.#keys.encryptedNotice(roomId);
      if ((await redis.set(key, '1', 'PX', 30 * 24 * 3600_000, 'NX')) !== 'OK') continue;
      try {
        await this.#put(roomId, noticeContent({ text: ENCRYPTED_NOTICE, tone: 'error' }));
      } catch (error) {
        await redis.del(key).catch(() => undefined);
        this.#o.log.warn(
          { err: error, room: roomId },
          'could not tell the encrypted room that vmops cannot read it; its commands go unseen',
        );
      }
    }
  }

  async #normalize(event: MatrixEvent, roomId: string): Promise<Normalized> {
    const own = this.#o.userId;
    const room = this.#client?.getRoom(roomId) ?? undefined;
    const sender = event.getSender();
    const eventId = event.getId();
    const ownNames = [room?.getMember(own)?.name, own.slice(1).split(':')[0], this.#o.botName].filter(
      (n): n is string => typeof n === 'string' && n !== '',
    );
    const senderName = sender ? (room?.getMember(sender)?.name ?? event.sender?.name) : undefined;
    return normalizeEvent(
      {
        type: event.getType(),
        content: event.getContent(),
        ...(eventId ? { event_id: eventId } : {}),
        ...(sender ? { sender } : {}),
        origin_server_ts: event.getTs(),
      },
      {
        ownId: own,
        roomId,
        isDirect: await this.#isDirect(roomId),
        senderName,
        ownNames,
      },
    );
  }

  /** A room is a direct chat when it is not a configured room and holds just the bot and one person. */
  #isDirect(roomId: string): Promise<boolean> {
    if (this.#configured.has(roomId)) return Promise.resolve(false);
    const known = this.#directness.get(roomId);
    if (known) return known;
    const client = this.#client;
    if (!client) return Promise.resolve(false);
    const found = client
      .getJoinedRoomMembers(roomId)
      .then(({ joined }) => {
        const ids = Object.keys(joined);
        return ids.length === 2 && ids.includes(this.#o.userId);
      })
      .catch((error: unknown) => {
        this.#directness.delete(roomId);
        this.#o.log.warn({ err: error, room: roomId }, 'matrix room members unknown; taken as a group room');
        return false;
      });
    this.#directness.set(roomId, found);
    return found;
  }

  async #onInvite(room: Room): Promise<void> {
    const client = this.#client;
    if (!client) return;
    const inviter = room.getMember(this.#o.userId)?.events.member?.getSender();
    const alias = room.getCanonicalAlias();
    const allowed =
      (inviter !== undefined && this.#inviters.has(inviter)) ||
      this.#inviteRooms.has(room.roomId) ||
      (alias !== null && this.#inviteRooms.has(alias));
    const log = this.#o.log.child({ room: room.roomId, inviter });
    try {
      if (allowed) {
        await client.joinRoom(room.roomId);
        log.info('matrix invite accepted');
      } else {
        await client.leave(room.roomId);
        log.info(
          'matrix invite declined: the inviter is not in config and the room is not on the invite list',
        );
      }
    } catch (error) {
      log.warn({ err: error }, 'matrix invite could not be answered');
    }
  }

  async #joinConfigured(room: string): Promise<void> {
    const client = this.#client;
    if (!client || this.#stopped) return;
    try {
      const joined = await client.joinRoom(room);
      this.#configured.add(joined.roomId);
      this.#configured.add(room);
    } catch (error) {
      this.#o.log.warn({ err: error, room }, 'matrix room could not be joined; check networks.matrix.rooms');
    }
  }

  /** The direct chat with a user: one listed in the bot's m.direct that still holds just the two, or a new one. */
  #dmRoom(userId: string): Promise<string> {
    const known = this.#dmRooms.get(userId);
    if (known) return known;
    const found = this.#findOrCreateDm(userId).catch((error: unknown) => {
      this.#dmRooms.delete(userId);
      throw error;
    });
    this.#dmRooms.set(userId, found);
    return found;
  }

  async #findOrCreateDm(userId: string): Promise<string> {
    const client = this.#client;
    if (!client) throw new VmopsError('internal_error', 'the matrix adapter is not running');
    const direct = (await client.getAccountDataFromServer(EventType.Direct).catch(() => null)) ?? {};
    for (const roomId of [...(direct[userId] ?? [])].reverse()) {
      if (this.#encrypted.has(roomId)) continue;
      try {
        const { joined } = await client.getJoinedRoomMembers(roomId);
        const others = Object.keys(joined).filter((id) => id !== this.#o.userId && id !== userId);
        if (!(this.#o.userId in joined) || others.length > 0) continue;
        const encryption = await client
          .getStateEvent(roomId, 'm.room.encryption', '')
          .then(() => true)
          .catch(() => false);
        if (encryption) continue;
        return roomId;
      } catch {
        // left, or forgotten: look further
      }
    }
    const { room_id: roomId } = await client.createRoom({
      is_direct: true,
      invite: [userId],
      preset: Preset.TrustedPrivateChat,
    });
    this.#directness.set(roomId, Promise.resolve(true));
    const mine = [...(direct[userId] ?? []), roomId];
    await client
      .setAccountData(EventType.Direct, { ...direct, [userId]: mine })
      .catch((error: unknown) =>
        this.#o.log.warn({ err: error }, 'could not record the direct chat in m.direct'),
      );
    this.#o.log.info({ user: userId, room: roomId }, 'matrix direct chat started');
    return roomId;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}
