// The client-server API routes the bot uses: versions, login (password, keeping a given device id),
// whoami, push rules, capabilities, filters, /sync (sync.ts), join, invite, leave, createRoom, room
// state, joined members, account data, profile display names, and sending: idempotent per access token
// and txnId, with Synapse's message rate limit (429 M_LIMIT_EXCEEDED with retry_after_ms) and, on
// demand, a proxy's 502 before or after the event is stored. Every request answered is recorded.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RoomStore } from './rooms.ts';
import type { SyncServer } from './sync.ts';
import {
  type Device,
  HttpError,
  type RequestRecord,
  STATE_KEY_SEP,
  type Trouble,
  type User,
} from './types.ts';

export class ClientApi {
  readonly #store: RoomStore;
  readonly #sync: SyncServer;
  readonly #trouble: Trouble;
  readonly #requests: RequestRecord[];
  readonly #alive: () => boolean;
  /** Responses of sends by `token txnId`, for idempotent retries. */
  readonly #txns = new Map<string, string>();

  constructor(
    store: RoomStore,
    sync: SyncServer,
    trouble: Trouble,
    requests: RequestRecord[],
    alive: () => boolean,
  ) {
    this.#store = store;
    this.#sync = sync;
    this.#trouble = trouble;
    this.#requests = requests;
    this.#alive = alive;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
    this.#requests.push(record);
    if (res.destroyed || !this.#alive()) {
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
    const device = this.#store.tokens.get(token);
    if (!device) throw new HttpError(401, 'M_UNKNOWN_TOKEN', 'Unknown access token', { soft_logout: false });
    record.user = device.userId;
    return { user: this.#store.user(device.userId), device, token };
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
      if (this.#trouble.failSyncs > 0) {
        this.#trouble.failSyncs -= 1;
        throw new HttpError(502, 'M_UNKNOWN', 'Bad Gateway');
      }
      return this.#sync.sync(user, url.searchParams, res);
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
        user.accountData.set(c, { pos: this.#store.next(), content: body });
        this.#store.wake();
        return {};
      }
      const data = user.accountData.get(c);
      if (!data) throw new HttpError(404, 'M_NOT_FOUND', 'Account data not found');
      return data.content;
    }
    if (head === 'profile' && a && b === 'displayname') {
      if (method === 'PUT') {
        if (a !== user.id) throw new HttpError(403, 'M_FORBIDDEN', 'Not your profile');
        this.#store.setDisplayName(user, String(body.displayname ?? ''));
        return {};
      }
      return { displayname: this.#store.user(a).displayName };
    }
    if (route === 'POST /createRoom') return { room_id: this.#store.createRoom(user, body) };
    if (method === 'POST' && head === 'join' && a) return { room_id: this.#store.join(user, a) };
    if (head === 'rooms' && a) {
      if (method === 'POST' && b === 'join') return { room_id: this.#store.join(user, a) };
      if (method === 'POST' && b === 'leave') {
        this.#store.leave(user, a);
        return {};
      }
      if (method === 'POST' && b === 'invite') {
        this.#store.invite(user, a, String(body.user_id ?? ''));
        return {};
      }
      if (method === 'PUT' && b === 'send' && c && d) {
        const key = `${token} ${a} ${d}`;
        const done = this.#txns.get(key);
        if (done) return { event_id: done };
        this.#store.requireJoined(user, a);
        this.#rateCheck(user);
        this.#sendFault('before');
        const eventId = this.#store.append(a, { type: c, sender: user.id, content: body }).event_id;
        this.#txns.set(key, eventId);
        this.#sendFault('after');
        return { event_id: eventId };
      }
      if (b === 'state') {
        if (method === 'PUT' && c) return { event_id: this.#store.setState(user, a, c, d ?? '', body) };
        this.#store.requireJoined(user, a);
        const room = this.#store.room(a);
        const state = this.#store.stateAt(room, Number.POSITIVE_INFINITY);
        if (!c) return [...state.values()];
        const found = state.get(`${c}${STATE_KEY_SEP}${d ?? ''}`);
        if (!found) throw new HttpError(404, 'M_NOT_FOUND', 'Event not found');
        return found.content;
      }
      if (method === 'GET' && b === 'messages') return this.#sync.messages(user, a, url.searchParams);
      if (method === 'GET' && b === 'joined_members') {
        this.#store.requireJoined(user, a);
        const room = this.#store.room(a);
        const joined: Record<string, unknown> = {};
        for (const ev of this.#store.stateAt(room, Number.POSITIVE_INFINITY).values()) {
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
    const userId = name.startsWith('@') ? name : `@${name}:${this.#store.serverName}`;
    const user = this.#store.users.get(userId);
    if (body.type !== 'm.login.password' || !user || user.password !== body.password) {
      throw new HttpError(403, 'M_FORBIDDEN', 'Invalid username or password');
    }
    const deviceId = typeof body.device_id === 'string' ? body.device_id : undefined;
    const token = this.#store.token(userId, deviceId);
    const device = this.#store.tokens.get(token);
    return { user_id: userId, access_token: token, device_id: device?.deviceId };
  }

  #sendFault(when: 'before' | 'after'): void {
    const fault = this.#trouble.sendFaults;
    if (!fault || fault.left <= 0 || fault.stored !== (when === 'after')) return;
    fault.left -= 1;
    throw new HttpError(502, 'M_UNKNOWN', 'Bad Gateway');
  }

  /** Synapse's ratelimiter: a leaky bucket of `burst` actions draining at `perSecond`. */
  #rateCheck(user: User): void {
    if (!user.rateLimited) return;
    const { perSecond, burst } = this.#trouble.rateLimit;
    const now = Date.now();
    const level = Math.max(0, user.bucket.level - ((now - user.bucket.at) / 1000) * perSecond);
    user.bucket = { level, at: now };
    if (level + 1 > burst) {
      const retryAfterMs = Math.ceil(((level + 1 - burst) / perSecond) * 1000);
      throw new HttpError(429, 'M_LIMIT_EXCEEDED', 'Too Many Requests', { retry_after_ms: retryAfterMs });
    }
    user.bucket.level = level + 1;
  }
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
