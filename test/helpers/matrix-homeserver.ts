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
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { freePort } from '../../src/redis/free-port.ts';

export interface MatrixEvent {
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
  unsigned?: Record<string, unknown>;
}

interface Stored {
  pos: number;
  event: MatrixEvent;
}

interface Room {
  id: string;
  events: Stored[];
}

interface User {
  id: string;
  password: string;
  displayName: string;
  accountData: Map<string, { pos: number; content: Record<string, unknown> }>;
  filters: Map<string, unknown>;
  /** Leaky bucket of the message rate limit: level and when it was last drained. */
  bucket: { level: number; at: number };
  rateLimited: boolean;
}

interface Device {
  userId: string;
  deviceId: string;
}

export interface HomeserverOptions {
  /** Server name, the part after the colon of ids (default localhost). */
  serverName?: string;
  /** Message rate limit per user, like Synapse's rc_message (default 0.2/s, burst 10). */
  rateLimit?: { perSecond: number; burst: number };
  /** Honour the timeline limit of the filter of an initial sync (default false: re-serve recent history, the worst case). */
  honourTimelineLimit?: boolean;
  /** How many events an initial sync hands per room when it does not honour the filter (default 20). */
  initialTimeline?: number;
  /** Most timeline events per room in an incremental sync; more are cut (`limited: true`). Default: no limit. */
  timelineLimit?: number;
}

/** One request the server answered, for assertions. */
export interface RequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  user: string | undefined;
  status: number;
  at: number;
}

class HttpError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  constructor(status: number, errcode: string, error: string, extra: Record<string, unknown> = {}) {
    super(error);
    this.status = status;
    this.body = { errcode, error, ...extra };
  }
}

const STATE_KEY_SEP = '\u0000';

export class MatrixHomeserver {
  readonly serverName: string;
  readonly requests: RequestRecord[] = [];
  readonly #options: HomeserverOptions;
  readonly #users = new Map<string, User>();
  readonly #tokens = new Map<string, Device>();
  readonly #rooms = new Map<string, Room>();
  readonly #aliases = new Map<string, string>();
  /** Responses of sends by `token txnId`, for idempotent retries. */
  readonly #txns = new Map<string, string>();
  readonly #waiters = new Set<() => void>();
  #pos = 0;
  #server: Server | undefined;
  #port = 0;
  #rateLimit: { perSecond: number; burst: number };
  /** /sync requests still to be answered with a proxy's 502. */
  #failSyncs = 0;
  #timelineLimit: number | undefined;
  /** Syncs held back (the bot "paused"): /sync answers nothing new until released. */
  #holdSyncs = false;
  /** Sends still to answer with a 502 (failSends). */
  #sendFaults: { left: number; stored: boolean } | undefined;

  constructor(options: HomeserverOptions = {}) {
    this.#options = options;
    this.serverName = options.serverName ?? 'localhost';
    this.#rateLimit = options.rateLimit ?? { perSecond: 0.2, burst: 10 };
    this.#timelineLimit = options.timelineLimit;
  }

  /** The next `count` /sync requests get a 502 Bad Gateway from "a proxy" in front of the server. */
  failNextSyncs(count: number): void {
    this.#failSyncs += count;
  }

  /** Most timeline events per room in an incremental sync from now on (undefined: no limit). */
  setTimelineLimit(limit: number | undefined): void {
    this.#timelineLimit = limit;
  }

  /** Holds every /sync open without news until released (the client sees a slow server, not an error). */
  holdSyncs(hold: boolean): void {
    this.#holdSyncs = hold;
    if (!hold) this.#wake();
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
    this.#rateLimit = limit;
  }

  async start(): Promise<void> {
    if (this.#port === 0) this.#port = await freePort();
    const server = createServer((req, res) => void this.#handle(req, res));
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
    for (const wake of [...this.#waiters]) wake();
    await closed;
  }

  /** Registers an account; returns its user id. */
  register(localpart: string, password = 'secret', options: { rateLimited?: boolean } = {}): string {
    const id = `@${localpart}:${this.serverName}`;
    this.#users.set(id, {
      id,
      password,
      displayName: localpart,
      accountData: new Map(),
      filters: new Map(),
      bucket: { level: 0, at: Date.now() },
      rateLimited: options.rateLimited ?? true,
    });
    return id;
  }

  /** A fresh access token for a user (as if it had logged in). */
  token(userId: string, deviceId = `D${randomBytes(4).toString('hex').toUpperCase()}`): string {
    const token = `syt_${randomBytes(12).toString('hex')}`;
    this.#tokens.set(token, { userId, deviceId });
    return token;
  }

  /** Everything a person's client would do, in-process, through the same handlers as HTTP requests. */
  act(userId: string) {
    const user = this.#user(userId);
    return {
      createRoom: (body: Record<string, unknown> = {}) => this.#createRoom(user, body),
      join: (room: string) => this.#join(user, room),
      leave: (room: string) => this.#leave(user, room),
      invite: (room: string, invitee: string) => this.#invite(user, room, invitee),
      /** `ts`: the origin_server_ts to stamp, as an application service may (`?ts=`); default now. */
      send: (room: string, content: Record<string, unknown>, type = 'm.room.message', ts?: number) =>
        this.#append(room, { type, sender: user.id, content }, ts).event_id,
      state: (room: string, type: string, stateKey: string, content: Record<string, unknown>) =>
        this.#setState(user, room, type, stateKey, content),
      setDisplayName: (name: string) => this.#setDisplayName(user, name),
    };
  }

  /** Every event of a room, oldest first. */
  events(roomId: string): MatrixEvent[] {
    return (this.#rooms.get(roomId)?.events ?? []).map((s) => s.event);
  }

  /** Membership of a user in a room (`join`, `invite`, `leave`, or undefined). */
  membership(roomId: string, userId: string): string | undefined {
    const room = this.#rooms.get(roomId);
    return room ? this.#membershipAt(room, userId, Number.POSITIVE_INFINITY) : undefined;
  }

  /** Resolves when an event matching `predicate` is (or already was) in a room. */
  waitForEvent(
    roomId: string | undefined,
    predicate: (event: MatrixEvent) => boolean,
    timeoutMs = 20_000,
  ): Promise<MatrixEvent> {
    return new Promise((resolve, reject) => {
      const find = () =>
        [...this.#rooms.values()]
          .filter((r) => roomId === undefined || r.id === roomId)
          .flatMap((r) => r.events)
          .map((s) => s.event)
          .find(predicate);
      const check = () => {
        const found = find();
        if (!found) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out waiting for an event in ${roomId ?? 'any room'}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  // ---- HTTP ----

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      user: undefined,
      status: 200,
      at: Date.now(),
    };
    let status = 200;
    let body: unknown;
    try {
      const raw = await readBody(req);
      const json = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      body = await this.#route(req, url, json, record, res);
    } catch (error) {
      if (error instanceof HttpError) {
        status = error.status;
        body = error.body;
      } else {
        status = 500;
        body = { errcode: 'M_UNKNOWN', error: (error as Error).message };
      }
    }
    record.status = status;
    this.requests.push(record);
    if (res.destroyed || !this.#server) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  #auth(
    req: IncomingMessage,
    url: URL,
    record: RequestRecord,
  ): { user: User; device: Device; token: string } {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('access_token');
    if (!token) throw new HttpError(401, 'M_MISSING_TOKEN', 'Missing access token');
    const device = this.#tokens.get(token);
    if (!device) throw new HttpError(401, 'M_UNKNOWN_TOKEN', 'Unknown access token', { soft_logout: false });
    record.user = device.userId;
    return { user: this.#user(device.userId), device, token };
  }

  async #route(
    req: IncomingMessage,
    url: URL,
    body: Record<string, unknown>,
    record: RequestRecord,
    res: ServerResponse,
  ): Promise<unknown> {
    const method = req.method ?? 'GET';
    const path = url.pathname;
    if (path === '/_matrix/client/versions') return { versions: ['v1.1', 'v1.2', 'v1.3'] };
    const m = /^\/_matrix\/client\/(?:v3|r0)(\/.*)$/.exec(path);
    if (!m?.[1]) throw new HttpError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
    const parts = m[1].split('/').slice(1).map(decodeURIComponent);
    const route = `${method} ${m[1]}`;

    if (route === 'GET /login') return { flows: [{ type: 'm.login.password' }] };
    if (route === 'POST /login') return this.#login(body);

    const { user, device, token } = this.#auth(req, url, record);
    const [head, a, b, c, d] = parts;
    if (route === 'GET /account/whoami') return { user_id: user.id, device_id: device.deviceId };
    if (method === 'GET' && head === 'pushrules') return { global: {} };
    if (route === 'GET /capabilities') return { capabilities: {} };
    if (method === 'GET' && path.endsWith('/sync')) {
      if (this.#failSyncs > 0) {
        this.#failSyncs -= 1;
        throw new HttpError(502, 'M_UNKNOWN', 'Bad Gateway');
      }
      return this.#sync(user, url.searchParams, res);
    }
    if (head === 'user' && a === user.id && b === 'filter') {
      if (method === 'POST') {
        const id = String(user.filters.size + 1);
        user.filters.set(id, body);
        return { filter_id: id };
      }
      const filter = c ? user.filters.get(c) : undefined;
      if (!filter) throw new HttpError(404, 'M_NOT_FOUND', 'No such filter');
      return filter;
    }
    if (head === 'user' && a === user.id && b === 'account_data' && c) {
      if (method === 'PUT') {
        user.accountData.set(c, { pos: this.#next(), content: body });
        this.#wake();
        return {};
      }
      const data = user.accountData.get(c);
      if (!data) throw new HttpError(404, 'M_NOT_FOUND', 'Account data not found');
      return data.content;
    }
    if (head === 'profile' && a && b === 'displayname') {
      if (method === 'PUT') {
        if (a !== user.id) throw new HttpError(403, 'M_FORBIDDEN', 'Not your profile');
        this.#setDisplayName(user, String(body.displayname ?? ''));
        return {};
      }
      return { displayname: this.#user(a).displayName };
    }
    if (route === 'POST /createRoom') return { room_id: this.#createRoom(user, body) };
    if (method === 'POST' && head === 'join' && a) return { room_id: this.#join(user, a) };
    if (head === 'rooms' && a) {
      if (method === 'POST' && b === 'join') return { room_id: this.#join(user, a) };
      if (method === 'POST' && b === 'leave') {
        this.#leave(user, a);
        return {};
      }
      if (method === 'POST' && b === 'invite') {
        this.#invite(user, a, String(body.user_id ?? ''));
        return {};
      }
      if (method === 'PUT' && b === 'send' && c && d) {
        const key = `${token} ${a} ${d}`;
        const done = this.#txns.get(key);
        if (done) return { event_id: done };
        this.#requireJoined(user, a);
        this.#rateCheck(user);
        this.#sendFault('before');
        const eventId = this.#append(a, { type: c, sender: user.id, content: body }).event_id;
        this.#txns.set(key, eventId);
        this.#sendFault('after');
        return { event_id: eventId };
      }
      if (b === 'state') {
        if (method === 'PUT' && c) return { event_id: this.#setState(user, a, c, d ?? '', body) };
        this.#requireJoined(user, a);
        const room = this.#room(a);
        const state = this.#stateAt(room, Number.POSITIVE_INFINITY);
        if (!c) return [...state.values()];
        const found = state.get(`${c}${STATE_KEY_SEP}${d ?? ''}`);
        if (!found) throw new HttpError(404, 'M_NOT_FOUND', 'Event not found');
        return found.content;
      }
      if (method === 'GET' && b === 'messages') return this.#messages(user, a, url.searchParams);
      if (method === 'GET' && b === 'joined_members') {
        this.#requireJoined(user, a);
        const room = this.#room(a);
        const joined: Record<string, unknown> = {};
        for (const ev of this.#stateAt(room, Number.POSITIVE_INFINITY).values()) {
          if (ev.type === 'm.room.member' && ev.content.membership === 'join' && ev.state_key) {
            joined[ev.state_key] = { display_name: ev.content.displayname ?? null };
          }
        }
        return { joined };
      }
    }
    throw new HttpError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
  }

  #login(body: Record<string, unknown>): unknown {
    const identifier = body.identifier as { type?: string; user?: string } | undefined;
    const name = identifier?.user ?? (body.user as string | undefined) ?? '';
    const userId = name.startsWith('@') ? name : `@${name}:${this.serverName}`;
    const user = this.#users.get(userId);
    if (body.type !== 'm.login.password' || !user || user.password !== body.password) {
      throw new HttpError(403, 'M_FORBIDDEN', 'Invalid username or password');
    }
    const deviceId = typeof body.device_id === 'string' ? body.device_id : undefined;
    const token = this.token(userId, deviceId);
    const device = this.#tokens.get(token);
    return { user_id: userId, access_token: token, device_id: device?.deviceId };
  }

  // ---- rooms ----

  #user(id: string): User {
    const user = this.#users.get(id);
    if (!user) throw new HttpError(404, 'M_NOT_FOUND', `No such user ${id}`);
    return user;
  }

  #room(idOrAlias: string): Room {
    const id = idOrAlias.startsWith('#') ? this.#aliases.get(idOrAlias) : idOrAlias;
    const room = id ? this.#rooms.get(id) : undefined;
    if (!room) throw new HttpError(404, 'M_NOT_FOUND', `No such room ${idOrAlias}`);
    return room;
  }

  #next(): number {
    this.#pos += 1;
    return this.#pos;
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  #append(
    roomId: string,
    event: { type: string; sender: string; content: Record<string, unknown>; state_key?: string },
    ts?: number,
  ): MatrixEvent {
    const room = this.#room(roomId);
    const pos = this.#next();
    const full: MatrixEvent = {
      event_id: `$${randomBytes(12).toString('base64url')}`,
      room_id: room.id,
      origin_server_ts: ts ?? Date.now(),
      ...event,
    };
    room.events.push({ pos, event: full });
    this.#wake();
    return full;
  }

  #stateAt(room: Room, beforePos: number): Map<string, MatrixEvent> {
    const state = new Map<string, MatrixEvent>();
    for (const { pos, event } of room.events) {
      if (pos >= beforePos) break;
      if (event.state_key !== undefined) state.set(`${event.type}${STATE_KEY_SEP}${event.state_key}`, event);
    }
    return state;
  }

  #membershipAt(room: Room, userId: string, beforePos: number): string | undefined {
    const member = this.#stateAt(room, beforePos).get(`m.room.member${STATE_KEY_SEP}${userId}`);
    return member?.content.membership as string | undefined;
  }

  #requireJoined(user: User, roomId: string): void {
    if (this.#membershipAt(this.#room(roomId), user.id, Number.POSITIVE_INFINITY) !== 'join') {
      throw new HttpError(403, 'M_FORBIDDEN', `${user.id} is not in room ${roomId}`);
    }
  }

  #member(user: User, membership: string, extra: Record<string, unknown> = {}) {
    return { membership, displayname: user.displayName, ...extra };
  }

  #createRoom(user: User, body: Record<string, unknown>): string {
    const id = `!${randomBytes(9).toString('base64url')}:${this.serverName}`;
    this.#rooms.set(id, { id, events: [] });
    const alias = body.room_alias_name ? `#${String(body.room_alias_name)}:${this.serverName}` : undefined;
    if (alias) this.#aliases.set(alias, id);
    const state = (type: string, content: Record<string, unknown>, stateKey = '') =>
      this.#append(id, { type, sender: user.id, content, state_key: stateKey });
    state('m.room.create', { creator: user.id, room_version: '10' });
    state('m.room.member', this.#member(user, 'join'), user.id);
    state('m.room.power_levels', { users: { [user.id]: 100 }, users_default: 0, events_default: 0 });
    const preset = body.preset ?? (body.visibility === 'public' ? 'public_chat' : 'private_chat');
    state('m.room.join_rules', { join_rule: preset === 'public_chat' ? 'public' : 'invite' });
    state('m.room.history_visibility', { history_visibility: 'shared' });
    if (body.name) state('m.room.name', { name: body.name });
    if (alias) state('m.room.canonical_alias', { alias });
    for (const initial of (body.initial_state as
      | { type: string; state_key?: string; content: Record<string, unknown> }[]
      | undefined) ?? []) {
      state(initial.type, initial.content, initial.state_key ?? '');
    }
    for (const invitee of (body.invite as string[] | undefined) ?? []) {
      this.#invite(user, id, invitee, body.is_direct === true);
    }
    return id;
  }

  #join(user: User, idOrAlias: string): string {
    const room = this.#room(idOrAlias);
    const now = this.#membershipAt(room, user.id, Number.POSITIVE_INFINITY);
    if (now === 'join') return room.id;
    const rules = this.#stateAt(room, Number.POSITIVE_INFINITY).get(`m.room.join_rules${STATE_KEY_SEP}`);
    if (now !== 'invite' && rules?.content.join_rule !== 'public') {
      throw new HttpError(403, 'M_FORBIDDEN', 'You are not invited to this room.');
    }
    this.#append(room.id, {
      type: 'm.room.member',
      sender: user.id,
      state_key: user.id,
      content: this.#member(user, 'join'),
    });
    return room.id;
  }

  #leave(user: User, roomId: string): void {
    const room = this.#room(roomId);
    const now = this.#membershipAt(room, user.id, Number.POSITIVE_INFINITY);
    if (now !== 'join' && now !== 'invite') return;
    this.#append(room.id, {
      type: 'm.room.member',
      sender: user.id,
      state_key: user.id,
      content: this.#member(user, 'leave'),
    });
  }

  #invite(user: User, roomId: string, invitee: string, isDirect = false): void {
    this.#requireJoined(user, roomId);
    const target = this.#user(invitee);
    const now = this.#membershipAt(this.#room(roomId), invitee, Number.POSITIVE_INFINITY);
    if (now === 'join') throw new HttpError(403, 'M_FORBIDDEN', `${invitee} is already in the room`);
    this.#append(roomId, {
      type: 'm.room.member',
      sender: user.id,
      state_key: invitee,
      content: this.#member(target, 'invite', isDirect ? { is_direct: true } : {}),
    });
  }

  #setState(user: User, roomId: string, type: string, stateKey: string, content: Record<string, unknown>) {
    this.#requireJoined(user, roomId);
    if (type === 'm.room.member' && stateKey !== user.id) {
      throw new HttpError(403, 'M_FORBIDDEN', 'Use invite, kick or ban for other members');
    }
    return this.#append(roomId, { type, sender: user.id, content, state_key: stateKey }).event_id;
  }

  /** Like Synapse: a new display name is also a new member event in every room the user is in. */
  #setDisplayName(user: User, name: string): void {
    user.displayName = name;
    for (const room of this.#rooms.values()) {
      if (this.#membershipAt(room, user.id, Number.POSITIVE_INFINITY) !== 'join') continue;
      this.#append(room.id, {
        type: 'm.room.member',
        sender: user.id,
        state_key: user.id,
        content: this.#member(user, 'join'),
      });
    }
  }

  /**
   * The next `count` sends are answered 502 Bad Gateway, as a proxy in front of the homeserver does:
   * `stored` says whether the homeserver had stored the event first (the answer was lost on the way
   * back) or never saw it. A retry with the same txnId then gets the stored event's id.
   */
  failSends(count: number, options: { stored: boolean }): void {
    this.#sendFaults = { left: count, stored: options.stored };
  }

  /** Sends answered with a 502 so far. */
  get badGateways(): number {
    return this.requests.filter((r) => r.status === 502).length;
  }

  #sendFault(when: 'before' | 'after'): void {
    const fault = this.#sendFaults;
    if (!fault || fault.left <= 0 || fault.stored !== (when === 'after')) return;
    fault.left -= 1;
    throw new HttpError(502, 'M_UNKNOWN', 'Bad Gateway');
  }

  /** Synapse's ratelimiter: a leaky bucket of `burst` actions draining at `perSecond`. */
  #rateCheck(user: User): void {
    if (!user.rateLimited) return;
    const { perSecond, burst } = this.#rateLimit;
    const now = Date.now();
    const level = Math.max(0, user.bucket.level - ((now - user.bucket.at) / 1000) * perSecond);
    user.bucket = { level, at: now };
    if (level + 1 > burst) {
      const retryAfterMs = Math.ceil(((level + 1 - burst) / perSecond) * 1000);
      throw new HttpError(429, 'M_LIMIT_EXCEEDED', 'Too Many Requests', { retry_after_ms: retryAfterMs });
    }
    user.bucket.level = level + 1;
  }

  // ---- sync ----

  async #sync(user: User, query: URLSearchParams, res: ServerResponse): Promise<unknown> {
    const since = query.get('since');
    const from = since ? Number(since.replace(/^s/, '')) : undefined;
    if (from !== undefined && !Number.isInteger(from)) {
      throw new HttpError(400, 'M_INVALID_PARAM', `Invalid since token ${since}`);
    }
    const timeout = Math.min(Number(query.get('timeout') ?? 0) || 0, 60_000);
    const filter = this.#filterOf(user, query.get('filter'));
    let answer =
      this.#holdSyncs && from !== undefined
        ? this.#nothingSince(from)
        : this.#syncResponse(user, from, filter);
    if (from === undefined || timeout === 0 || !isEmpty(answer)) return answer;
    // Long poll: hold the request until something for this user arrives, the timeout passes, or the
    // server stops (then the connection is cut).
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        res.off('close', done);
        resolve();
      };
      const check = () => {
        if (!this.#server) return done();
        if (this.#holdSyncs) return;
        answer = this.#syncResponse(user, from, filter);
        if (!isEmpty(answer)) done();
      };
      const timer = setTimeout(done, timeout);
      this.#waiters.add(check);
      res.on('close', done);
    });
    return this.#holdSyncs ? this.#nothingSince(from) : this.#syncResponse(user, from, filter);
  }

  /** An empty incremental answer that keeps the client where it was. */
  #nothingSince(from: number) {
    return {
      next_batch: `s${from}`,
      rooms: { join: {}, invite: {}, leave: {} },
      account_data: { events: [] },
      presence: { events: [] },
      to_device: { events: [] },
      device_lists: { changed: [], left: [] },
      device_one_time_keys_count: {},
    };
  }

  /**
   * GET /rooms/{id}/messages: events before `from` (a `t<pos>` prev_batch or end token, or an `s<pos>`
   * sync token), newest first with dir=b, down to `to` (exclusive), at most `limit`; `end` continues.
   */
  #messages(user: User, roomId: string, query: URLSearchParams): unknown {
    this.#requireJoined(user, roomId);
    const room = this.#room(roomId);
    const position = (token: string | null, fallback: number) => {
      if (!token) return fallback;
      const pos = Number(token.slice(1));
      if (!/^[ts]\d+$/.test(token) || !Number.isInteger(pos)) {
        throw new HttpError(400, 'M_INVALID_PARAM', `Invalid pagination token ${token}`);
      }
      // A t-token points at the first event shown (exclusive going back); an s-token at the last one seen.
      return token.startsWith('s') ? pos + 1 : pos;
    };
    if (query.get('dir') !== 'b') throw new HttpError(400, 'M_INVALID_PARAM', 'only dir=b is served here');
    const from = position(query.get('from'), this.#pos + 1);
    const to = position(query.get('to'), 0);
    const limit = Math.min(Number(query.get('limit') ?? 10) || 10, 1000);
    const older = room.events
      .filter((s) => s.pos < from && s.pos >= to && this.#membershipAt(room, user.id, s.pos) === 'join')
      .reverse()
      .slice(0, limit);
    const last = older.at(-1);
    return {
      start: query.get('from') ?? `t${from}`,
      chunk: older.map((s) => s.event),
      ...(last && older.length === limit ? { end: `t${last.pos}` } : {}),
    };
  }

  #filterOf(user: User, filter: string | null): { timelineLimit?: number } {
    if (!filter) return {};
    const parsed = (filter.startsWith('{') ? JSON.parse(filter) : user.filters.get(filter)) as
      | { room?: { timeline?: { limit?: number } } }
      | undefined;
    const limit = parsed?.room?.timeline?.limit;
    return limit === undefined ? {} : { timelineLimit: limit };
  }

  #syncResponse(user: User, from: number | undefined, filter: { timelineLimit?: number }) {
    const join: Record<string, unknown> = {};
    const invite: Record<string, unknown> = {};
    const leave: Record<string, unknown> = {};
    for (const room of this.#rooms.values()) {
      const now = this.#membershipAt(room, user.id, Number.POSITIVE_INFINITY);
      if (from === undefined) {
        if (now === 'join') {
          const limit =
            this.#options.honourTimelineLimit && filter.timelineLimit !== undefined
              ? filter.timelineLimit
              : (this.#options.initialTimeline ?? 20);
          const timeline = limit > 0 ? room.events.slice(-limit) : [];
          const startPos = timeline[0]?.pos ?? this.#pos + 1;
          join[room.id] = {
            state: { events: [...this.#stateAt(room, startPos).values()] },
            timeline: {
              events: timeline.map((s) => s.event),
              limited: room.events.length > timeline.length,
              prev_batch: `t${startPos}`,
            },
            account_data: { events: [] },
            ephemeral: { events: [] },
          };
        } else if (now === 'invite') {
          invite[room.id] = { invite_state: { events: this.#strippedState(room) } };
        }
        continue;
      }
      const fresh = room.events.filter((s) => s.pos > from);
      if (fresh.length === 0) continue;
      const before = this.#membershipAt(room, user.id, from + 1);
      if (now === 'invite' && before !== 'invite') {
        invite[room.id] = { invite_state: { events: this.#strippedState(room) } };
        continue;
      }
      // Events of the window while the user was joined (and its own join and leave events).
      const visible = fresh.filter(
        (s) =>
          this.#membershipAt(room, user.id, s.pos) === 'join' ||
          (s.event.type === 'm.room.member' && s.event.state_key === user.id),
      );
      if (visible.length === 0 || (now !== 'join' && before !== 'join' && now !== 'leave')) continue;
      // Synapse cuts a room's timeline to the filter's limit and says so (`limited`, back-fill from prev_batch).
      const limit = this.#timelineLimit;
      const shown = limit !== undefined && visible.length > limit ? visible.slice(-limit) : visible;
      const firstPos = shown[0]?.pos ?? from + 1;
      const section = {
        // A room newly joined in this window gets its state as of the first event shown.
        state: { events: before === 'join' ? [] : [...this.#stateAt(room, firstPos).values()] },
        timeline: {
          events: shown.map((s) => s.event),
          limited: shown.length < visible.length,
          prev_batch: `t${firstPos}`,
        },
        account_data: { events: [] },
        ephemeral: { events: [] },
      };
      if (now === 'join') join[room.id] = section;
      else if (now === 'leave' && before !== 'leave') leave[room.id] = section;
    }
    const accountData = [...user.accountData.entries()]
      .filter(([, v]) => from === undefined || v.pos > from)
      .map(([type, v]) => ({ type, content: v.content }));
    return {
      next_batch: `s${this.#pos}`,
      rooms: { join, invite, leave },
      account_data: { events: accountData },
      presence: { events: [] },
      to_device: { events: [] },
      device_lists: { changed: [], left: [] },
      device_one_time_keys_count: {},
    };
  }

  #strippedState(room: Room) {
    return [...this.#stateAt(room, Number.POSITIVE_INFINITY).values()]
      .filter((e) =>
        ['m.room.create', 'm.room.name', 'm.room.join_rules', 'm.room.member', 'm.room.encryption'].includes(
          e.type,
        ),
      )
      .map(({ type, state_key, sender, content }) => ({ type, state_key, sender, content }));
  }
}

function isEmpty(answer: {
  rooms: Record<string, Record<string, unknown>>;
  account_data: { events: unknown[] };
}): boolean {
  return (
    Object.values(answer.rooms).every((section) => Object.keys(section).length === 0) &&
    answer.account_data.events.length === 0
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      data += chunk;
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

/** Starts a homeserver on a free loopback port. */
export async function startHomeserver(options: HomeserverOptions = {}): Promise<MatrixHomeserver> {
  const server = new MatrixHomeserver(options);
  await server.start();
  return server;
}
