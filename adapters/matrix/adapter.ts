// Matrix as a chat network, through matrix-js-sdk: one account (access token, or password with the
// device id kept in Redis), the configured rooms, invites from people in config (or to rooms on an
// allow-list), and direct chats. Holds no policy: it turns room messages into IncomingMessage
// (identity from the sender's user id only, see events.ts) and sends or edits notices.
//
// The stored sync position is the acknowledgement: it is written to Redis only after every message
// of the syncs it covers has been handed over (and so taken into the durable intake), and the next
// start resumes from it, so the homeserver hands again whatever was not yet taken in. A room timeline
// the homeserver cut short (`limited`, with a `prev_batch`) is back-filled through /messages down to
// the previous position before the batch is handed over, so nothing in the gap goes unseen. What the
// network hands as not live is only marked (IncomingMessage.backlog): the first sync after a start
// is `away` when resumed from a stored position (else `history`, as is what came before the bot's own
// join), and so are back-filled events; the pipeline decides by their age whether they run. A failed
// /sync and the SDK's RECONNECTING or ERROR state change nothing of that: what comes after is live.
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
import { connectRedis, type RedisTarget } from '../../src/redis/connect.ts';
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
import { editContent, type Normalized, normalizeEvent, noticeContent, type RawEvent } from './events.ts';
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
  /** It came in the first sync after the start (from before the bot was listening). */
  early: boolean;
}

/** A /sync answer with a timeline the homeserver cut short (`"limited": true`). */
const LIMITED = /"limited"\s*:\s*true/;

/** A room timeline a sync cut short: the events between `to` (the previous position) and `from` were left out. */
interface Gap {
  roomId: string;
  /** The timeline's prev_batch. */
  from: string;
  /** The `since` of that sync. */
  to: string;
}

/** Events asked for per /messages page when back-filling a gap, and the most pages per gap. */
const BACKFILL_PAGE = 100;
const BACKFILL_PAGES = 50;

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
  /** The first sync of this run is processed (the SDK said PREPARED once): later events are live. */
  #prepared = false;
  /** Gaps of limited timelines, by the next_batch of the sync that had them. */
  readonly #gaps = new Map<string, Gap[]>();
  /** A hand-over failed: the sync position stays where it was, so a restart hands those events again. */
  #positionHeld = false;
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

  /** fetch, with every request ended when the adapter stops; /sync answers are read for limited timelines. */
  readonly #fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const signal = init?.signal ? AbortSignal.any([init.signal, this.#abort.signal]) : this.#abort.signal;
    const response = await fetch(input, { ...init, signal });
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (response.ok && url.pathname.endsWith('/sync')) {
      const since = url.searchParams.get('since');
      if (since) await this.#noteGaps(since, response.clone());
    }
    return response;
  };

  /** Notes the rooms whose timeline this /sync answer cut short (`limited`), to back-fill them. */
  async #noteGaps(since: string, response: Response): Promise<void> {
    try {
      // Most syncs cut nothing short: parse the answer a second time only when one did.
      const text = await response.text();
      if (!LIMITED.test(text)) return;
      const body = JSON.parse(text) as {
        next_batch?: string;
        rooms?: { join?: Record<string, { timeline?: { limited?: boolean; prev_batch?: string } }> };
      };
      const gaps: Gap[] = [];
      for (const [roomId, room] of Object.entries(body.rooms?.join ?? {})) {
        const timeline = room.timeline;
        if (timeline?.limited && timeline.prev_batch)
          gaps.push({ roomId, from: timeline.prev_batch, to: since });
      }
      if (gaps.length > 0 && body.next_batch) this.#gaps.set(body.next_batch, gaps);
    } catch (error) {
      this.#o.log.warn({ err: error }, 'matrix sync answer unreadable for limited timelines');
    }
  }

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
      // Not isInitialSyncComplete(): that is false again while the SDK reconnects after a failed /sync.
      this.#noted.push({ event, roomId: room.roomId, early: !this.#prepared });
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
      this.#prepared = true;
      const token = data?.nextSyncToken;
      const batch = this.#noted.splice(0);
      const gaps = token ? (this.#gaps.get(token) ?? []) : [];
      if (token) this.#gaps.delete(token);
      if (batch.length === 0 && gaps.length === 0 && this.#encryptedDue.size === 0 && !token) return;
      this.#chain(async () => {
        for (const gap of gaps) await this.#backfill(gap);
        await this.#handleBatch(batch);
        await this.#tellEncrypted();
        // Only now that the batch is taken in: a crash before this line hands it again (and the
        // pipeline's event claims keep it from running twice).
        if (token && this.#redis && !this.#positionHeld) {
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
    const handOvers: Promise<void>[] = [];
    for (const [i, { event, roomId, early }] of batch.entries()) {
      if (event.getType() !== 'm.room.message') continue;
      const kind =
        i < (joinedAt.get(roomId) ?? -1) || (early && !this.#resumedFrom)
          ? 'history'
          : early
            ? 'away'
            : undefined;
      // Handed over side by side, in order (one Redis connection keeps the order of the writes).
      handOvers.push(this.#handOver(await this.#normalize(rawOf(event), roomId), kind));
    }
    await Promise.all(handOvers);
  }

  /** Hands a message to the pipeline, marked as backlog of a kind; a failure holds the sync position. */
  async #handOver(normalized: Normalized, backlog: 'away' | 'history' | undefined): Promise<void> {
    if ('drop' in normalized) return;
    const message = normalized.message;
    if (message.sender.isSelf) return;
    const deliver = this.#onMessage;
    if (!deliver) {
      this.#positionHeld = true;
      return;
    }
    try {
      await deliver(
        backlog ? { ...message, backlog: { kind: backlog, originalAt: message.sentAt } } : message,
      );
    } catch (error) {
      this.#positionHeld = true;
      this.#o.log.error(
        { err: error, eventId: message.eventId },
        'matrix message could not be taken in; the sync position is held so a restart hands it again',
      );
    }
  }

  /** Back-fills a limited timeline from its prev_batch down to the previous position, oldest first. */
  async #backfill(gap: Gap): Promise<void> {
    const client = this.#client;
    if (!client) return;
    const log = this.#o.log.child({ room: gap.roomId });
    const events: RawEvent[] = [];
    let from = gap.from;
    try {
      for (let page = 0; page < BACKFILL_PAGES; page++) {
        const answer = await client.http.authedRequest<{ chunk?: RawEvent[]; end?: string }>(
          Method.Get,
          `/rooms/${encodeURIComponent(gap.roomId)}/messages`,
          { from, to: gap.to, dir: 'b', limit: String(BACKFILL_PAGE) },
        );
        const chunk = answer.chunk ?? [];
        events.push(...chunk);
        if (chunk.length === 0 || !answer.end || answer.end === from) break;
        from = answer.end;
      }
    } catch (error) {
      // Not held: the events after the gap are live and must not wait; what was missed is logged.
      log.error({ err: error }, 'matrix timeline gap could not be back-filled; commands in it may be missed');
    }
    log.info({ events: events.length }, 'matrix limited timeline back-filled');
    const handOvers: Promise<void>[] = [];
    for (const event of events.reverse()) {
      if (event.type !== 'm.room.message') continue;
      handOvers.push(this.#handOver(await this.#normalize(event, gap.roomId), 'away'));
    }
    await Promise.all(handOvers);
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

  async #normalize(event: RawEvent, roomId: string): Promise<Normalized> {
    const own = this.#o.userId;
    const room = this.#client?.getRoom(roomId) ?? undefined;
    const sender = event.sender;
    const ownNames = [room?.getMember(own)?.name, own.slice(1).split(':')[0], this.#o.botName].filter(
      (n): n is string => typeof n === 'string' && n !== '',
    );
    const senderName = sender ? room?.getMember(sender)?.name : undefined;
    return normalizeEvent(event, {
      ownId: own,
      roomId,
      isDirect: await this.#isDirect(roomId),
      senderName,
      ownNames,
    });
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

/** The fields of an SDK event the adapter reads, as a client event. */
function rawOf(event: MatrixEvent): RawEvent {
  const eventId = event.getId();
  const sender = event.getSender();
  return {
    type: event.getType(),
    content: event.getContent(),
    ...(eventId ? { event_id: eventId } : {}),
    ...(sender ? { sender } : {}),
    origin_server_ts: event.getTs(),
  };
}
