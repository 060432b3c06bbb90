// A small Matrix homeserver for tests, on loopback, following the client-server spec for what the bot
// uses: versions, login (password, keeping a given device id), whoami, push rules, capabilities,
// filters, long-poll /sync (held open until something arrives or the timeout passes; initial and
// incremental), join, invite, leave, createRoom, room state, joined members, account data, profile
// display names, and sending (idempotent per access token and txnId) with Synapse's message rate
// limit (429 M_LIMIT_EXCEEDED with retry_after_ms). People other than the bot act in-process through
// the same code paths (`act`). `stop()` and `start()` restart it on the same port with the same state.
// Inbound trouble on demand: incremental syncs whose room timelines are cut to a limit (`limited` with
// a `prev_batch`, as Synapse does), `/rooms/{id}/messages` to back-fill from such a token, a proxy
// answering the next /sync requests with a 502, and an outage (`stop()`, then `start()` later).
// The parts, under test/helpers/matrix/: routes.ts (the client-server API), sync.ts (/sync and
// /messages), rooms.ts (rooms as event logs, accounts, what members do), types.ts.
import { createServer, type Server } from 'node:http';
import { freePort } from '../../src/redis/free-port.ts';
import { RoomStore } from './matrix/rooms.ts';
import { ClientApi } from './matrix/routes.ts';
import { SyncServer } from './matrix/sync.ts';
import type { HomeserverOptions, MatrixEvent, RequestRecord, Trouble } from './matrix/types.ts';

export type { HomeserverOptions, MatrixEvent, RequestRecord } from './matrix/types.ts';

export class MatrixHomeserver {
  readonly serverName: string;
  readonly requests: RequestRecord[] = [];
  readonly #store: RoomStore;
  readonly #trouble: Trouble;
  readonly #api: ClientApi;
  #server: Server | undefined;
  #port = 0;

  constructor(options: HomeserverOptions = {}) {
    this.serverName = options.serverName ?? 'localhost';
    this.#store = new RoomStore(this.serverName);
    this.#trouble = {
      failSyncs: 0,
      timelineLimit: options.timelineLimit,
      holdSyncs: false,
      sendFaults: undefined,
      rateLimit: options.rateLimit ?? { perSecond: 0.2, burst: 10 },
    };
    const alive = () => this.#server !== undefined;
    const sync = new SyncServer(this.#store, options, this.#trouble, alive);
    this.#api = new ClientApi(this.#store, sync, this.#trouble, this.requests, alive);
  }

  /** The next `count` /sync requests get a 502 Bad Gateway from "a proxy" in front of the server. */
  failNextSyncs(count: number): void {
    this.#trouble.failSyncs += count;
  }

  /** Most timeline events per room in an incremental sync from now on (undefined: no limit). */
  setTimelineLimit(limit: number | undefined): void {
    this.#trouble.timelineLimit = limit;
  }

  /** Holds every /sync open without news until released (the client sees a slow server, not an error). */
  holdSyncs(hold: boolean): void {
    this.#trouble.holdSyncs = hold;
    if (!hold) this.#store.wake();
  }

  /** How many /sync requests were answered with this status. */
  syncsAnswered(status: number): number {
    return this.requests.filter((r) => r.path.endsWith('/sync') && r.status === status).length;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** How many 429s the server has answered to sends. */
  get rateLimited(): number {
    return this.requests.filter((r) => r.status === 429).length;
  }

  setRateLimit(limit: { perSecond: number; burst: number }): void {
    this.#trouble.rateLimit = limit;
  }

  /**
   * The next `count` sends are answered 502 Bad Gateway, as a proxy in front of the homeserver does:
   * `stored` says whether the homeserver had stored the event first (the answer was lost on the way
   * back) or never saw it. A retry with the same txnId then gets the stored event's id.
   */
  failSends(count: number, options: { stored: boolean }): void {
    this.#trouble.sendFaults = { left: count, stored: options.stored };
  }

  /** Sends answered with a 502 so far. */
  get badGateways(): number {
    return this.requests.filter((r) => r.status === 502).length;
  }

  async start(): Promise<void> {
    if (this.#port === 0) this.#port = await freePort();
    const server = createServer((req, res) => void this.#api.handle(req, res));
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
  }

  /** Stops listening and cuts every connection (held /sync requests too); state is kept for start(). */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    this.#store.wake();
    await closed;
  }

  /** Registers an account; returns its user id. */
  register(localpart: string, password = 'secret', options: { rateLimited?: boolean } = {}): string {
    return this.#store.register(localpart, password, options);
  }

  /** A fresh access token for a user (as if it had logged in). */
  token(userId: string, deviceId?: string): string {
    return this.#store.token(userId, deviceId);
  }

  /** Everything a person's client would do, in-process, through the same handlers as HTTP requests. */
  act(userId: string) {
    const user = this.#store.user(userId);
    return {
      createRoom: (body: Record<string, unknown> = {}) => this.#store.createRoom(user, body),
      join: (room: string) => this.#store.join(user, room),
      leave: (room: string) => this.#store.leave(user, room),
      invite: (room: string, invitee: string) => this.#store.invite(user, room, invitee),
      /** `ts`: the origin_server_ts to stamp, as an application service may (`?ts=`); default now. */
      send: (room: string, content: Record<string, unknown>, type = 'm.room.message', ts?: number) =>
        this.#store.append(room, { type, sender: user.id, content }, ts).event_id,
      state: (room: string, type: string, stateKey: string, content: Record<string, unknown>) =>
        this.#store.setState(user, room, type, stateKey, content),
      setDisplayName: (name: string) => this.#store.setDisplayName(user, name),
    };
  }

  /** Every event of a room, oldest first. */
  events(roomId: string): MatrixEvent[] {
    return this.#store.events(roomId);
  }

  /** Membership of a user in a room (`join`, `invite`, `leave`, or undefined). */
  membership(roomId: string, userId: string): string | undefined {
    return this.#store.membership(roomId, userId);
  }

  /** Resolves when an event matching `predicate` is (or already was) in a room. */
  waitForEvent(
    roomId: string | undefined,
    predicate: (event: MatrixEvent) => boolean,
    timeoutMs = 20_000,
  ): Promise<MatrixEvent> {
    return new Promise((resolve, reject) => {
      const find = () =>
        [...this.#store.rooms.values()]
          .filter((r) => roomId === undefined || r.id === roomId)
          .flatMap((r) => r.events)
          .map((s) => s.event)
          .find(predicate);
      const check = () => {
        const found = find();
        if (!found) return;
        this.#store.waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.#store.waiters.delete(check);
        reject(new Error(`timed out waiting for an event in ${roomId ?? 'any room'}`));
      }, timeoutMs);
      this.#store.waiters.add(check);
      check();
    });
  }
}

/** Starts a homeserver on a free loopback port. */
export async function startHomeserver(options: HomeserverOptions = {}): Promise<MatrixHomeserver> {
  const server = new MatrixHomeserver(options);
  await server.start();
  return server;
}
