// Matrix as a chat network, through matrix-js-sdk: one account (access token, or password with the
// device id kept in Redis), the configured rooms, invites from people in config (or to rooms on an
// allow-list), and direct chats. Holds no policy: it turns room messages into IncomingMessage
// (identity from the sender's user id only, see events.ts) and sends or edits notices.
//
// The stored sync position is the acknowledgement: written only after every message of the syncs
// it covers was taken in; what is not live is only marked as backlog (sync-handover.ts).
// Encrypted rooms cannot be read (no E2EE here): the room and the log are told so, once.
// The parts: session.ts (token or password login), rooms.ts (configured rooms, invites, direct
// chats), translate.ts and events.ts (event → IncomingMessage), sync-handover.ts (the backlog and
// sync handling above), encrypted-rooms.ts; this file starts the client and wires them together.
// Sending is one PUT per send or edit, never queued or retried here: the core's outbox paces by
// `limits.sendBudget` (the homeserver counts every event of the account together), waits out 429s
// and retries what send-errors.ts calls retryable, always with the transaction id it gave, so the
// homeserver stores a message once however often it is tried.
import './sdk-log.ts';
import type { Redis } from 'ioredis';
import { ClientEvent, createClient, type MatrixClient, Method, RoomEvent, SyncState } from 'matrix-js-sdk';
import { SendFailure } from '../../src/chat/send-failure.ts';
import { VmopsError } from '../../src/errors.ts';
import { connectRedis } from '../../src/redis/connect.ts';
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
import { EncryptedRooms } from './encrypted-rooms.ts';
import { editContent, noticeContent } from './events.ts';
import type { MatrixAdapterOptions } from './options.ts';
import { MatrixRooms } from './rooms.ts';
import { sdkLogger, setSdkLogSink } from './sdk-log.ts';
import { asSendFailure } from './send-errors.ts';
import { matrixSession } from './session.ts';
import { firstSync, SyncHandover } from './sync-handover.ts';
import {
  type MatrixKeys,
  matrixKeys,
  ResumingStore,
  readSyncPosition,
  type SyncPosition,
} from './sync-store.ts';
import { translator } from './translate.ts';

export { ENCRYPTED_NOTICE } from './encrypted-rooms.ts';
export type { MatrixAdapterOptions } from './options.ts';

export class MatrixAdapter implements ChatAdapter {
  readonly network = 'matrix';
  readonly limits: AdapterLimits;
  readonly #o: MatrixAdapterOptions;
  readonly #keys: MatrixKeys;
  readonly #abort = new AbortController();
  readonly #rooms: MatrixRooms;
  readonly #encrypted: EncryptedRooms;
  readonly #sync: SyncHandover;
  #client: MatrixClient | undefined;
  #redis: Redis | undefined;
  #onMessage: ((message: IncomingMessage) => Promise<void>) | undefined;
  #stopped = false;
  #inbox: Promise<void> = Promise.resolve();
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
    const client = () => this.#client;
    const redis = () => this.#redis;
    this.#encrypted = new EncryptedRooms({
      userId: options.userId,
      keys: this.#keys,
      log: options.log,
      client,
      redis,
      put: (roomId, content) => this.#put(roomId, content),
    });
    this.#rooms = new MatrixRooms({
      userId: options.userId,
      inviters: options.inviters,
      inviteRooms: options.inviteRooms,
      log: options.log,
      client,
      encrypted: (roomId) => this.#encrypted.has(roomId),
    });
    this.#sync = new SyncHandover({
      userId: options.userId,
      keys: this.#keys,
      log: options.log,
      client,
      redis,
      deliver: () => this.#onMessage,
      resumed: () => this.#resumedFrom !== undefined,
      normalize: translator({
        userId: options.userId,
        botName: options.botName,
        client,
        isDirect: (roomId) => this.#rooms.isDirect(roomId),
      }),
      afterBatch: { due: () => this.#encrypted.due, run: () => this.#encrypted.tell() },
      now: () => this.#now(),
    });
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
    const session = await matrixSession(o, redis, this.#keys, this.#fetch);
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

    const first = firstSync(client, o.startTimeoutMs ?? 30_000);
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
    for (const room of o.rooms) if (!this.#stopped) await this.#rooms.joinConfigured(room);
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
    const roomId = target.room.startsWith('@') ? await this.#rooms.dmRoom(target.room) : target.room;
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
      if (since) await this.#sync.noteGaps(since, response.clone());
    }
    return response;
  };

  #listen(client: MatrixClient): void {
    const log = this.#o.log;
    client.on(RoomEvent.Timeline, (event, room, toStartOfTimeline) => {
      if (toStartOfTimeline || !room || this.#stopped || event.status !== null) return;
      this.#sync.note(event, room.roomId);
    });
    client.on(ClientEvent.Event, (event) => {
      const roomId = event.getRoomId();
      if (!roomId) return;
      if (event.getType() === 'm.room.member') this.#rooms.forget(roomId);
      this.#encrypted.seen(event, roomId);
    });
    client.on(RoomEvent.MyMembership, (room, membership) => {
      if (membership === 'invite') this.#chain(() => this.#rooms.onInvite(room));
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
      const work = this.#sync.synced(data?.nextSyncToken);
      if (work) this.#chain(work);
    });
  }

  #chain(work: () => Promise<void>): void {
    this.#inbox = this.#inbox
      .then(async () => {
        if (!this.#stopped) await work();
      })
      .catch((error: unknown) => this.#o.log.warn({ err: error }, 'matrix event handling failed'));
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}
