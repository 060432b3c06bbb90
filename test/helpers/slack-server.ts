// A local Slack for tests, on loopback, following the documented protocol for what vmops uses:
//   Web API (POST /api/<method>, form or JSON body, `Authorization: Bearer` token): auth.test,
//   apps.connections.open (app token; answers a one-use ws:// URL), chat.postMessage, chat.update,
//   conversations.open, files.getUploadURLExternal (+ the upload URL) and files.completeUploadExternal.
//   Limits: chat.postMessage per channel and chat.update per workspace, each a rate and a burst
//   (Slack: ~1/s per channel; Tier 3 ~50/min), answered beyond with HTTP 429, `Retry-After` (seconds)
//   and {"ok":false,"error":"ratelimited"}. It counts the 429s it sent and the requests that came back
//   before their Retry-After had passed.
//   Socket Mode: `hello` on connect; envelopes {envelope_id, type: events_api | slash_commands |
//   interactive, payload, accepts_response_payload, retry_attempt, retry_reason}; an envelope not acked
//   ({envelope_id}) within `redeliverAfterMs` (Slack: 3 s) is sent again, up to 3 times, with
//   retry_attempt counting up, to another open connection when there is one; envelopes wait while no
//   connection is open; `{"type":"disconnect"}` frames; pings every `pingIntervalMs`.
// Drive it with mention(), dm(), slash(), click(); look at messages, calls and acks; wait on anything
// with waitFor(). Everything it starts stops in stop().
import { createHmac, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  createServer,
  type IncomingMessage as HttpRequest,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export interface Rate {
  perSecond: number;
  burst: number;
}

export interface FakeSlackOptions {
  botToken?: string;
  appToken?: string;
  teamId?: string;
  botUserId?: string;
  botId?: string;
  /** chat.postMessage per channel (default 1/s, burst 1). */
  postLimit?: Rate;
  /** chat.update for the workspace (default 50/min, burst 5). */
  updateLimit?: Rate;
  /** Redeliver an envelope not acked within this long (ms; Slack: 3000). */
  redeliverAfterMs?: number;
  /** How many times an envelope is sent again at most (Slack: 3). */
  maxRedeliveries?: number;
  /** Ping every connection this often (ms; default 5000). */
  pingIntervalMs?: number;
  /** Private channels the bot is not a member of: chat.postMessage there is `channel_not_found`. */
  closedChannels?: string[];
}

/** A message only one person sees (a response_url answer with response_type `ephemeral`). */
export interface EphemeralMessage {
  channel: string;
  user: string;
  text: string;
  at: number;
}

export interface MessageVersion {
  text: string;
  blocks: Block[] | undefined;
  at: number;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  threadTs: string | undefined;
  user: string;
  /** The original, then every update. */
  versions: MessageVersion[];
  files: { id: string; title: string; content: string }[];
}

export interface ApiCall {
  method: string;
  args: Record<string, unknown>;
  at: number;
  status: number;
  error?: string;
}

export interface Envelope {
  envelope_id: string;
  type: 'events_api' | 'slash_commands' | 'interactive';
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

interface Outstanding {
  envelope: Envelope;
  attempts: number;
  timer: NodeJS.Timeout | undefined;
  connection: Connection | undefined;
  loseAck: boolean;
}

interface Connection {
  id: number;
  ws: WebSocket;
  open: boolean;
  /** Envelope ids sent on it. */
  received: string[];
}

type Block = Record<string, unknown>;

/** GCRA, as Slack's limiter is often described: `burst` at once, then `perSecond`. */
class Limit {
  readonly #interval: number;
  readonly #tolerance: number;
  #tat = 0;
  /** Nothing should come before this (the last Retry-After given). */
  blockedUntil = 0;

  constructor(rate: Rate) {
    this.#interval = 1000 / rate.perSecond;
    this.#tolerance = Math.max(0, rate.burst - 1) * this.#interval;
  }

  /** 0 when the request conforms (and counts it), else the wait in ms. */
  take(now: number): number {
    const earliest = this.#tat - this.#tolerance;
    if (now < earliest) return earliest - now;
    this.#tat = Math.max(this.#tat, now) + this.#interval;
    return 0;
  }
}

export class FakeSlack extends EventEmitter<{ change: [] }> {
  readonly botToken: string;
  readonly appToken: string;
  readonly teamId: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly calls: ApiCall[] = [];
  readonly messages: FakeMessage[] = [];
  /** Every envelope sent (each attempt), with the connection it went to. */
  readonly sent: { envelope: Envelope; connection: number }[] = [];
  readonly acks: { envelopeId: string; payload: unknown; connection: number }[] = [];
  /** 429 answers sent. */
  rateLimited = 0;
  /** Requests that came while a Retry-After given for their limit had not passed. */
  earlyRetries = 0;
  connections: Connection[] = [];
  readonly #o: Required<Omit<FakeSlackOptions, 'botToken' | 'appToken' | 'teamId' | 'botUserId' | 'botId'>>;
  /** Messages only one person saw. */
  readonly ephemerals: EphemeralMessage[] = [];
  /** Where each response_url handed out leads, its uses, and the message it posted. */
  readonly #responseUrls = new Map<string, { channel: string; user: string; uses: number; ts?: string }>();
  readonly #server: Server;
  /** Calls still to answer with a 502, by method (failCalls). */
  readonly #gatewayFaults = new Map<string, number>();
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #tickets = new Set<string>();
  readonly #limits = new Map<string, Limit>();
  readonly #outstanding = new Map<string, Outstanding>();
  readonly #waiting: Outstanding[] = [];
  readonly #uploads = new Map<string, { title: string; content: string }>();
  #port = 0;
  #tsCounter = 0;
  #ids = 0;
  #nextConnection = 0;
  #pinger: NodeJS.Timeout | undefined;

  constructor(options: FakeSlackOptions = {}) {
    super();
    this.setMaxListeners(100);
    this.botToken = options.botToken ?? 'xoxb-fake-bot-token';
    this.appToken = options.appToken ?? 'xapp-fake-app-token';
    this.teamId = options.teamId ?? 'T0VMOPS';
    this.botUserId = options.botUserId ?? 'U0VMOPSBOT';
    this.botId = options.botId ?? 'B0VMOPSBOT';
    this.#o = {
      postLimit: options.postLimit ?? { perSecond: 1, burst: 1 },
      updateLimit: options.updateLimit ?? { perSecond: 50 / 60, burst: 5 },
      redeliverAfterMs: options.redeliverAfterMs ?? 3000,
      maxRedeliveries: options.maxRedeliveries ?? 3,
      pingIntervalMs: options.pingIntervalMs ?? 5000,
      closedChannels: options.closedChannels ?? [],
    };
    this.#server = createServer((req, res) => {
      void this.#onRequest(req, res).catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
    });
    this.#server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const ticket = url.searchParams.get('ticket') ?? '';
      if (url.pathname !== '/link/' || !this.#tickets.delete(ticket)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws));
    });
  }

  /** The Web API base URL (slackApiUrl). */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.#port}/api/`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#pinger = setInterval(() => {
      for (const c of this.connections) if (c.open) c.ws.ping();
    }, this.#o.pingIntervalMs);
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.#pinger);
    for (const o of this.#outstanding.values()) clearTimeout(o.timer);
    this.#outstanding.clear();
    for (const c of this.connections) c.ws.terminate();
    this.#wss.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---- Socket Mode ----

  /** Open connections, oldest first. */
  openConnections(): Connection[] {
    return this.connections.filter((c) => c.open);
  }

  /** Sends `{"type":"disconnect"}` on every open connection (Slack does so before recycling a host). */
  disconnect(reason = 'refresh_requested'): void {
    for (const c of this.openConnections()) {
      c.ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'fake-slack' } }));
      // Nothing new goes to a connection told to go away; what it got and did not ack is redelivered.
      c.open = false;
    }
    this.emit('change');
  }

  /** Drops every connection without a word (the network went away). */
  dropConnections(): void {
    for (const c of this.openConnections()) c.ws.terminate();
  }

  /**
   * Sends an envelope (now, or when a connection opens). `to`: the index of an open connection.
   * `loseAck`: the ack of the first delivery is lost, because the connection drops as it comes.
   */
  deliver(
    type: Envelope['type'],
    payload: Record<string, unknown>,
    options: { to?: number; loseAck?: boolean; retryAttempt?: number } = {},
  ): Envelope {
    const envelope: Envelope = {
      envelope_id: randomUUID(),
      type,
      payload,
      accepts_response_payload: type !== 'events_api',
      ...(type === 'events_api'
        ? { retry_attempt: options.retryAttempt ?? 0, retry_reason: options.retryAttempt ? 'timeout' : '' }
        : {}),
    };
    const outstanding: Outstanding = {
      envelope,
      attempts: 0,
      timer: undefined,
      connection: undefined,
      loseAck: options.loseAck ?? false,
    };
    this.#outstanding.set(envelope.envelope_id, outstanding);
    const target = options.to === undefined ? undefined : this.openConnections()[options.to];
    if (options.to !== undefined && !target) throw new Error(`no open connection ${options.to}`);
    this.#send(outstanding, target);
    return envelope;
  }

  /** Envelopes sent but not acknowledged (nor given up). */
  get unacked(): number {
    return this.#outstanding.size;
  }

  #send(outstanding: Outstanding, preferred?: Connection): void {
    const open = this.openConnections();
    // A redelivery goes to another connection when there is one.
    const others = open.filter((c) => c !== outstanding.connection);
    const pool = others.length > 0 ? others : open;
    const connection = preferred ?? pool[this.#nextConnection++ % Math.max(1, pool.length)];
    if (!connection) {
      if (!this.#waiting.includes(outstanding)) this.#waiting.push(outstanding);
      return;
    }
    if (outstanding.attempts > 0 && outstanding.envelope.type === 'events_api') {
      outstanding.envelope.retry_attempt = outstanding.attempts;
      outstanding.envelope.retry_reason = 'timeout';
    }
    outstanding.attempts += 1;
    outstanding.connection = connection;
    connection.received.push(outstanding.envelope.envelope_id);
    connection.ws.send(JSON.stringify(outstanding.envelope));
    this.sent.push({ envelope: structuredClone(outstanding.envelope), connection: connection.id });
    this.emit('change');
    clearTimeout(outstanding.timer);
    outstanding.timer = setTimeout(() => {
      outstanding.timer = undefined;
      if (!this.#outstanding.has(outstanding.envelope.envelope_id)) return;
      if (outstanding.attempts > this.#o.maxRedeliveries) {
        this.#outstanding.delete(outstanding.envelope.envelope_id);
        return;
      }
      this.#send(outstanding);
    }, this.#o.redeliverAfterMs);
  }

  #onConnection(ws: WebSocket): void {
    const connection: Connection = { id: this.connections.length, ws, open: true, received: [] };
    this.connections.push(connection);
    ws.on('close', () => {
      connection.open = false;
      this.emit('change');
    });
    ws.on('error', () => undefined);
    ws.on('message', (data) => {
      let parsed: { envelope_id?: string; payload?: unknown };
      try {
        parsed = JSON.parse(String(data)) as typeof parsed;
      } catch {
        return;
      }
      const id = parsed.envelope_id;
      const outstanding = id ? this.#outstanding.get(id) : undefined;
      if (!id || !outstanding) return;
      if (outstanding.loseAck) {
        // The connection dies with the ack on it: Slack never sees the ack.
        outstanding.loseAck = false;
        ws.terminate();
        return;
      }
      clearTimeout(outstanding.timer);
      this.#outstanding.delete(id);
      this.acks.push({ envelopeId: id, payload: parsed.payload, connection: connection.id });
      this.emit('change');
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.openConnections().length,
        debug_info: { host: 'fake-slack', approximate_connection_time: 18060 },
        connection_info: { app_id: 'A0VMOPS' },
      }),
    );
    this.emit('change');
    for (const waiting of this.#waiting.splice(0)) {
      if (this.#outstanding.has(waiting.envelope.envelope_id)) this.#send(waiting);
    }
  }

  // ---- What people do ----

  #eventId(): string {
    this.#ids += 1;
    return `Ev0FAKE${String(this.#ids).padStart(6, '0')}`;
  }

  #ts(): string {
    this.#tsCounter += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.#tsCounter).padStart(6, '0')}`;
  }

  /** An Events API payload (event_callback) around an event. */
  eventPayload(event: Record<string, unknown>, eventId = this.#eventId()): Record<string, unknown> {
    return {
      token: 'verification-token-unused',
      team_id: this.teamId,
      api_app_id: 'A0VMOPS',
      event,
      type: 'event_callback',
      event_id: eventId,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: this.teamId, user_id: this.botUserId, is_bot: true }],
      is_ext_shared_channel: false,
      event_context: `4-fake-${eventId}`,
    };
  }

  /** `@vmops <text>` in a channel: an app_mention event. */
  mentionEvent(
    user: string,
    channel: string,
    text: string,
    extra: Record<string, unknown> = {},
  ): Record<string, unknown> {
    const ts = this.#ts();
    return {
      type: 'app_mention',
      user,
      text: `<@${this.botUserId}> ${text}`,
      ts,
      channel,
      event_ts: ts,
      team: this.teamId,
      ...extra,
    };
  }

  mention(
    user: string,
    channel: string,
    text: string,
    options: { loseAck?: boolean; to?: number; extra?: Record<string, unknown> } = {},
  ): { eventId: string; envelope: Envelope } {
    const payload = this.eventPayload(this.mentionEvent(user, channel, text, options.extra));
    const envelope = this.deliver('events_api', payload, options);
    return { eventId: String(payload.event_id), envelope };
  }

  /** The direct-message channel between the bot and a user. */
  dmChannel(user: string): string {
    return `D${user.replace(/^[UW]/, '')}`;
  }

  /** A direct message to the bot: a `message` event in an im. */
  dm(
    user: string,
    text: string,
    extra: Record<string, unknown> = {},
  ): { eventId: string; envelope: Envelope } {
    const ts = this.#ts();
    const payload = this.eventPayload({
      type: 'message',
      channel: this.dmChannel(user),
      user,
      text,
      ts,
      event_ts: ts,
      channel_type: 'im',
      team: this.teamId,
      ...extra,
    });
    const envelope = this.deliver('events_api', payload);
    return { eventId: String(payload.event_id), envelope };
  }

  /** `/vmops <text>` in a channel. */
  slash(user: string, channel: string, text: string, command = '/vmops'): Envelope {
    return this.deliver('slash_commands', {
      token: 'verification-token-unused',
      team_id: this.teamId,
      team_domain: 'fake',
      channel_id: channel,
      channel_name: channel.startsWith('D') ? 'directmessage' : 'ops',
      user_id: user,
      user_name: `name-of-${user}`,
      command,
      text,
      api_app_id: 'A0VMOPS',
      is_enterprise_install: 'false',
      response_url: this.#responseUrl(channel, user),
      trigger_id: `${Date.now()}.${++this.#ids}.fake`,
    });
  }

  /** A click on the button labelled `label` of a message the bot sent. */
  click(user: string, message: FakeMessage, label: string, options: { loseAck?: boolean } = {}): Envelope {
    const blocks = message.versions.at(-1)?.blocks ?? [];
    const button = blocks
      .filter((b) => b.type === 'actions')
      .flatMap((b) => (b.elements as Block[]) ?? [])
      .find((e) => (e.text as { text?: string } | undefined)?.text === label);
    if (!button) throw new Error(`no button ${label} on message ${message.ts}`);
    const now = Date.now() / 1000;
    return this.deliver(
      'interactive',
      {
        type: 'block_actions',
        user: { id: user, username: `name-of-${user}`, name: `name-of-${user}`, team_id: this.teamId },
        api_app_id: 'A0VMOPS',
        token: 'verification-token-unused',
        container: {
          type: 'message',
          message_ts: message.ts,
          channel_id: message.channel,
          is_ephemeral: false,
        },
        trigger_id: `${Date.now()}.${++this.#ids}.fake`,
        team: { id: this.teamId, domain: 'fake' },
        enterprise: null,
        is_enterprise_install: false,
        channel: { id: message.channel, name: message.channel.startsWith('D') ? 'directmessage' : 'ops' },
        message: { type: 'message', ts: message.ts, text: message.versions.at(-1)?.text, blocks },
        state: { values: {} },
        response_url: this.#responseUrl(message.channel, user, message.ts),
        actions: [
          {
            action_id: button.action_id,
            block_id: 'b1',
            text: button.text,
            value: button.value,
            ...(button.style ? { style: button.style } : {}),
            type: 'button',
            action_ts: now.toFixed(6),
          },
        ],
      },
      options,
    );
  }

  // ---- Looking and waiting ----

  /** Messages the bot posted in a channel (top level and threads), in order. */
  messagesIn(channel: string): FakeMessage[] {
    return this.messages.filter((m) => m.channel === channel);
  }

  /** Resolves with the first value `probe` returns (now or after a change), or rejects after a while. */
  waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = probe();
        if (found === undefined || found === false) return;
        this.off('change', check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.off('change', check);
        const texts = this.messages.map((m) => `${m.channel} ${m.ts}: ${m.versions.at(-1)?.text}`);
        reject(new Error(`timed out waiting for ${what}; messages:\n${texts.join('\n')}`));
      }, timeoutMs);
      this.on('change', check);
      check();
    });
  }

  /** A message only `user` saw (ephemeral) whose text matches. */
  waitForEphemeral(
    user: string,
    pattern: RegExp,
    what?: string,
    timeoutMs?: number,
  ): Promise<EphemeralMessage> {
    return this.waitFor(
      () => this.ephemerals.find((m) => m.user === user && pattern.test(m.text)),
      what ?? `an ephemeral message to ${user} matching ${pattern}`,
      timeoutMs,
    );
  }

  /** A message whose latest text matches, in a channel. */
  waitForMessage(channel: string, pattern: RegExp, what?: string, timeoutMs?: number): Promise<FakeMessage> {
    return this.waitFor(
      () => this.messagesIn(channel).find((m) => pattern.test(m.versions.at(-1)?.text ?? '')),
      what ?? `a message matching ${pattern} in ${channel}`,
      timeoutMs,
    );
  }

  // ---- Web API ----

  async #onRequest(req: HttpRequest, res: ServerResponse): Promise<void> {
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/upload/')) {
      await this.#onUpload(url.pathname.slice('/upload/'.length), req, raw, res);
      return;
    }
    if (url.pathname.startsWith('/respond/')) {
      const [status, body] = this.#respond(url.pathname.slice('/respond/'.length), raw);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
      this.emit('change');
      return;
    }
    if (!url.pathname.startsWith('/api/') || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    const method = url.pathname.slice('/api/'.length);
    const args = parseBody(String(req.headers['content-type'] ?? ''), raw);
    const token =
      /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1] ?? String(args.token ?? '');
    const call: ApiCall = { method, args, at: Date.now(), status: 200 };
    this.calls.push(call);
    const answer = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      call.status = status;
      if (body.ok === false) call.error = String(body.error);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
      this.emit('change');
    };
    const wanted = method === 'apps.connections.open' ? this.appToken : this.botToken;
    if (!token) return answer(200, { ok: false, error: 'not_authed' });
    if (token !== wanted) return answer(200, { ok: false, error: 'invalid_auth' });
    const limit = this.#limitFor(method, args);
    if (limit) {
      const now = Date.now();
      if (now < limit.blockedUntil) this.earlyRetries += 1;
      const wait = limit.take(now);
      if (wait > 0) {
        const seconds = Math.max(1, Math.ceil(wait / 1000));
        limit.blockedUntil = now + seconds * 1000;
        this.rateLimited += 1;
        return answer(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(seconds) });
      }
    }
    if (this.#badGateway(method)) {
      call.status = 502;
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>');
      this.emit('change');
      return;
    }
    const [status, body] = this.#handle(method, args);
    answer(status, body);
  }

  /**
   * The next `count` calls of `method` are answered 502 Bad Gateway by a proxy in front of Slack: Slack
   * never sees them.
   */
  failCalls(method: string, count: number): void {
    this.#gatewayFaults.set(method, count);
  }

  #responseUrl(channel: string, user: string, ts?: string): string {
    const id = randomUUID();
    this.#responseUrls.set(id, { channel, user, uses: 0, ...(ts ? { ts } : {}) });
    return `http://127.0.0.1:${this.#port}/respond/${id}`;
  }

  /**
   * An answer through a response_url (Slack: 5 uses in 30 minutes): `ephemeral` (seen by the person
   * only), `in_channel` (a message in the channel, also where the bot is no member), or
   * `replace_original` (replaces the message this url posted, or the message whose button was clicked).
   */
  #respond(id: string, raw: Buffer): [number, string] {
    const link = this.#responseUrls.get(id);
    if (!link) return [404, 'expired_url'];
    if (link.uses >= 5) return [404, 'used_url'];
    link.uses += 1;
    const body = tryJson(raw.toString('utf8')) as Record<string, unknown> | undefined;
    if (!body || typeof body.text !== 'string') return [400, 'no_text'];
    const checked = checkContent(body);
    if ('error' in checked) return [400, checked.error];
    if (body.response_type === 'ephemeral') {
      this.ephemerals.push({ channel: link.channel, user: link.user, text: checked.text, at: Date.now() });
      return [200, 'ok'];
    }
    const original = link.ts
      ? this.messages.find((m) => m.channel === link.channel && m.ts === link.ts)
      : undefined;
    if (body.replace_original === true && original) {
      original.versions.push({ ...checked, at: Date.now() });
      return [200, 'ok'];
    }
    const message: FakeMessage = {
      channel: link.channel,
      ts: this.#ts(),
      threadTs: undefined,
      user: this.botUserId,
      versions: [{ ...checked, at: Date.now() }],
      files: [],
    };
    this.messages.push(message);
    link.ts = message.ts;
    return [200, 'ok'];
  }

  /** Deletes a message (as a person with the rights would): updating it is then `message_not_found`. */
  deleteMessage(channel: string, ts: string): void {
    const at = this.messages.findIndex((m) => m.channel === channel && m.ts === ts);
    if (at >= 0) this.messages.splice(at, 1);
    this.emit('change');
  }

  #badGateway(method: string): boolean {
    const left = this.#gatewayFaults.get(method) ?? 0;
    if (left <= 0) return false;
    this.#gatewayFaults.set(method, left - 1);
    return true;
  }

  #limitFor(method: string, args: Record<string, unknown>): Limit | undefined {
    const key =
      method === 'chat.postMessage'
        ? `post:${String(args.channel)}`
        : method === 'chat.update'
          ? 'update'
          : '';
    if (!key) return undefined;
    let limit = this.#limits.get(key);
    if (!limit) {
      limit = new Limit(method === 'chat.update' ? this.#o.updateLimit : this.#o.postLimit);
      this.#limits.set(key, limit);
    }
    return limit;
  }

  #handle(method: string, args: Record<string, unknown>): [number, Record<string, unknown>] {
    switch (method) {
      case 'auth.test':
        return [
          200,
          {
            ok: true,
            url: 'https://fake.slack.com/',
            team: 'Fake',
            user: 'vmops',
            team_id: this.teamId,
            user_id: this.botUserId,
            bot_id: this.botId,
            is_enterprise_install: false,
          },
        ];
      case 'apps.connections.open': {
        const ticket = randomUUID();
        this.#tickets.add(ticket);
        return [200, { ok: true, url: `ws://127.0.0.1:${this.#port}/link/?ticket=${ticket}` }];
      }
      case 'conversations.open': {
        const users = String(args.users ?? '');
        if (!/^[UW][A-Z0-9]+$/.test(users)) return [200, { ok: false, error: 'user_not_found' }];
        return [200, { ok: true, channel: { id: this.dmChannel(users) } }];
      }
      case 'chat.postMessage': {
        const channel = String(args.channel ?? '');
        if (!/^[CDG][A-Z0-9]+$/.test(channel) || this.#o.closedChannels.includes(channel)) {
          return [200, { ok: false, error: 'channel_not_found' }];
        }
        const checked = checkContent(args);
        if ('error' in checked) return [200, { ok: false, error: checked.error }];
        const threadTs = args.thread_ts === undefined ? undefined : String(args.thread_ts);
        if (threadTs && !this.messages.some((m) => m.channel === channel && m.ts === threadTs)) {
          return [200, { ok: false, error: 'thread_not_found' }];
        }
        const message: FakeMessage = {
          channel,
          ts: this.#ts(),
          threadTs,
          user: this.botUserId,
          versions: [{ ...checked, at: Date.now() }],
          files: [],
        };
        this.messages.push(message);
        return [200, { ok: true, channel, ts: message.ts, message: { text: checked.text, ts: message.ts } }];
      }
      case 'chat.update': {
        const message = this.messages.find(
          (m) => m.channel === String(args.channel) && m.ts === String(args.ts),
        );
        if (!message) return [200, { ok: false, error: 'message_not_found' }];
        const checked = checkContent(args);
        if ('error' in checked) return [200, { ok: false, error: checked.error }];
        const previous = message.versions.at(-1);
        message.versions.push({
          text: checked.text,
          // Blocks left out of an update stay as they were.
          blocks: args.blocks === undefined ? previous?.blocks : checked.blocks,
          at: Date.now(),
        });
        return [200, { ok: true, channel: message.channel, ts: message.ts, text: checked.text }];
      }
      case 'files.getUploadURLExternal': {
        const length = Number(args.length);
        if (!args.filename || !Number.isInteger(length) || length <= 0) {
          return [200, { ok: false, error: 'invalid_arguments' }];
        }
        const id = `F0FAKE${++this.#ids}`;
        this.#uploads.set(id, { title: String(args.filename), content: '' });
        return [200, { ok: true, upload_url: `http://127.0.0.1:${this.#port}/upload/${id}`, file_id: id }];
      }
      case 'files.completeUploadExternal': {
        const files = (Array.isArray(args.files) ? args.files : []) as { id?: string; title?: string }[];
        const channel = String(args.channel_id ?? '');
        const threadTs = args.thread_ts === undefined ? undefined : String(args.thread_ts);
        const parent = this.messages.find((m) => m.channel === channel && m.ts === threadTs);
        if (files.length === 0 || !channel) return [200, { ok: false, error: 'invalid_arguments' }];
        const shared: FakeMessage = {
          channel,
          ts: this.#ts(),
          threadTs: parent?.ts,
          user: this.botUserId,
          versions: [{ text: String(args.initial_comment ?? ''), blocks: undefined, at: Date.now() }],
          files: [],
        };
        for (const file of files) {
          const upload = file.id ? this.#uploads.get(file.id) : undefined;
          if (!upload || !file.id) return [200, { ok: false, error: 'file_not_found' }];
          shared.files.push({ id: file.id, title: file.title ?? upload.title, content: upload.content });
        }
        this.messages.push(shared);
        return [200, { ok: true, files: shared.files.map((f) => ({ id: f.id, title: f.title })) }];
      }
      default:
        return [200, { ok: false, error: 'unknown_method' }];
    }
  }

  async #onUpload(id: string, req: HttpRequest, raw: Buffer, res: ServerResponse): Promise<void> {
    const upload = this.#uploads.get(id);
    if (!upload || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    const type = String(req.headers['content-type'] ?? '');
    if (type.startsWith('multipart/form-data')) {
      const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
      const part = [...form.values()][0];
      upload.content = typeof part === 'string' ? part : await (part as Blob).text();
    } else {
      upload.content = raw.toString('utf8');
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${raw.length}`);
  }
}

const JSON_FIELDS = new Set(['blocks', 'attachments', 'files', 'metadata']);

/** Form bodies carry nested values as JSON strings (as @slack/web-api sends them). */
function parseBody(type: string, raw: Buffer): Record<string, unknown> {
  const text = raw.toString('utf8');
  if (type.includes('application/json')) return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    args[key] = JSON_FIELDS.has(key) ? tryJson(value) : value;
  }
  return args;
}

function tryJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** Slack's checks on a message's content that vmops could get wrong. */
function checkContent(
  args: Record<string, unknown>,
): { text: string; blocks: Block[] | undefined } | { error: string } {
  const text = args.text === undefined ? '' : String(args.text);
  const blocks = args.blocks;
  if (!text && blocks === undefined) return { error: 'no_text' };
  if (text.length > 40_000) return { error: 'msg_too_long' };
  if (blocks === undefined) return { text, blocks: undefined };
  if (!Array.isArray(blocks) || blocks.length > 50) return { error: 'invalid_blocks' };
  for (const block of blocks as Block[]) {
    if (typeof block !== 'object' || block === null || typeof block.type !== 'string') {
      return { error: 'invalid_blocks' };
    }
    if (block.type === 'section') {
      const sectionText = (block.text as { text?: string } | undefined)?.text ?? '';
      const fields = (block.fields as unknown[] | undefined) ?? [];
      if (sectionText.length > 3000 || fields.length > 10) return { error: 'invalid_blocks' };
      if (!sectionText && fields.length === 0) return { error: 'invalid_blocks' };
    } else if (block.type === 'actions') {
      const elements = (block.elements as Block[] | undefined) ?? [];
      if (elements.length === 0 || elements.length > 25) return { error: 'invalid_blocks' };
      const ids = new Set(elements.map((e) => e.action_id));
      if (ids.size !== elements.length) return { error: 'invalid_blocks' };
      for (const e of elements) {
        const label = (e.text as { text?: string } | undefined)?.text ?? '';
        if (e.type !== 'button' || !label || label.length > 75 || String(e.value ?? '').length > 2000) {
          return { error: 'invalid_blocks' };
        }
      }
    } else if (block.type === 'context') {
      const elements = (block.elements as unknown[] | undefined) ?? [];
      if (elements.length === 0 || elements.length > 10) return { error: 'invalid_blocks' };
    } else if (!['header', 'divider'].includes(block.type)) {
      return { error: 'invalid_blocks' };
    }
  }
  return { text, blocks: blocks as Block[] };
}

/** `x-slack-signature` for a body, as Slack computes it. */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** POSTs a body to an Events API endpoint, signed with `secret` (or not, or wrongly). */
export async function postSigned(
  url: string,
  secret: string,
  body: string,
  options: { contentType?: string; timestamp?: number; signature?: string } = {},
): Promise<{ status: number; body: string }> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/json',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': options.signature ?? slackSignature(secret, timestamp, body),
    },
    body,
  });
  return { status: response.status, body: await response.text() };
}
