// The Web API as Slack answers it, for what vmops uses (POST /api/<method>, form or JSON body,
// `Authorization: Bearer` token): auth.test, apps.connections.open, chat.postMessage, chat.update,
// conversations.open, files.getUploadURLExternal (+ the upload URL) and files.completeUploadExternal;
// chat.postMessage per channel and chat.update per workspace limited (429 with Retry-After, counted,
// as are requests that came back too early); response_url answers (5 uses each); and 502s from a proxy
// in front of Slack on demand (failCalls).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage as HttpRequest, ServerResponse } from 'node:http';
import { checkContent, parseBody, tryJson } from './content.ts';
import { Limit } from './rate-limit.ts';
import type { SlackState } from './state.ts';
import type { ApiCall, FakeMessage, Rate } from './types.ts';

export interface WebApiOptions {
  postLimit: Rate;
  updateLimit: Rate;
  closedChannels: string[];
}

export class WebApi {
  readonly #state: SlackState;
  readonly #o: WebApiOptions;
  readonly #socket: { connectionUrl(): string };
  /** Where each response_url handed out leads, its uses, and the message it posted. */
  readonly #responseUrls = new Map<string, { channel: string; user: string; uses: number; ts?: string }>();
  /** Calls still to answer with a 502, by method (failCalls). */
  readonly #gatewayFaults = new Map<string, number>();
  readonly #limits = new Map<string, Limit>();
  readonly #uploads = new Map<string, { title: string; content: string }>();

  constructor(state: SlackState, options: WebApiOptions, socket: { connectionUrl(): string }) {
    this.#state = state;
    this.#o = options;
    this.#socket = socket;
  }

  async onRequest(req: HttpRequest, res: ServerResponse): Promise<void> {
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
      this.#state.changed();
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
    this.#state.calls.push(call);
    const answer = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      call.status = status;
      if (body.ok === false) call.error = String(body.error);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
      this.#state.changed();
    };
    const wanted = method === 'apps.connections.open' ? this.#state.appToken : this.#state.botToken;
    if (!token) return answer(200, { ok: false, error: 'not_authed' });
    if (token !== wanted) return answer(200, { ok: false, error: 'invalid_auth' });
    const limit = this.#limitFor(method, args);
    if (limit) {
      const now = Date.now();
      if (now < limit.blockedUntil) this.#state.earlyRetries += 1;
      const wait = limit.take(now);
      if (wait > 0) {
        const seconds = Math.max(1, Math.ceil(wait / 1000));
        limit.blockedUntil = now + seconds * 1000;
        this.#state.rateLimited += 1;
        return answer(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(seconds) });
      }
    }
    if (this.#badGateway(method)) {
      call.status = 502;
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>');
      this.#state.changed();
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

  /** A response_url for an answer in `channel` to `user` (about the message `ts`). */
  responseUrl(channel: string, user: string, ts?: string): string {
    const id = randomUUID();
    this.#responseUrls.set(id, { channel, user, uses: 0, ...(ts ? { ts } : {}) });
    return `${this.#state.baseUrl}/respond/${id}`;
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
      this.#state.ephemerals.push({
        channel: link.channel,
        user: link.user,
        text: checked.text,
        at: Date.now(),
      });
      return [200, 'ok'];
    }
    const original = link.ts
      ? this.#state.messages.find((m) => m.channel === link.channel && m.ts === link.ts)
      : undefined;
    if (body.replace_original === true && original) {
      original.versions.push({ ...checked, at: Date.now() });
      return [200, 'ok'];
    }
    const message: FakeMessage = {
      channel: link.channel,
      ts: this.#state.ts(),
      threadTs: undefined,
      user: this.#state.botUserId,
      versions: [{ ...checked, at: Date.now() }],
      files: [],
    };
    this.#state.messages.push(message);
    link.ts = message.ts;
    return [200, 'ok'];
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
            team_id: this.#state.teamId,
            user_id: this.#state.botUserId,
            bot_id: this.#state.botId,
            is_enterprise_install: false,
          },
        ];
      case 'apps.connections.open': {
        return [200, { ok: true, url: this.#socket.connectionUrl() }];
      }
      case 'conversations.open': {
        const users = String(args.users ?? '');
        if (!/^[UW][A-Z0-9]+$/.test(users)) return [200, { ok: false, error: 'user_not_found' }];
        return [200, { ok: true, channel: { id: this.#state.dmChannel(users) } }];
      }
      case 'chat.postMessage': {
        const channel = String(args.channel ?? '');
        if (!/^[CDG][A-Z0-9]+$/.test(channel) || this.#o.closedChannels.includes(channel)) {
          return [200, { ok: false, error: 'channel_not_found' }];
        }
        const checked = checkContent(args);
        if ('error' in checked) return [200, { ok: false, error: checked.error }];
        const threadTs = args.thread_ts === undefined ? undefined : String(args.thread_ts);
        if (threadTs && !this.#state.messages.some((m) => m.channel === channel && m.ts === threadTs)) {
          return [200, { ok: false, error: 'thread_not_found' }];
        }
        const message: FakeMessage = {
          channel,
          ts: this.#state.ts(),
          threadTs,
          user: this.#state.botUserId,
          versions: [{ ...checked, at: Date.now() }],
          files: [],
        };
        this.#state.messages.push(message);
        return [200, { ok: true, channel, ts: message.ts, message: { text: checked.text, ts: message.ts } }];
      }
      case 'chat.update': {
        const message = this.#state.messages.find(
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
        const id = `F0FAKE${this.#state.nextId()}`;
        this.#uploads.set(id, { title: String(args.filename), content: '' });
        return [200, { ok: true, upload_url: `${this.#state.baseUrl}/upload/${id}`, file_id: id }];
      }
      case 'files.completeUploadExternal': {
        const files = (Array.isArray(args.files) ? args.files : []) as { id?: string; title?: string }[];
        const channel = String(args.channel_id ?? '');
        const threadTs = args.thread_ts === undefined ? undefined : String(args.thread_ts);
        const parent = this.#state.messages.find((m) => m.channel === channel && m.ts === threadTs);
        if (files.length === 0 || !channel) return [200, { ok: false, error: 'invalid_arguments' }];
        const shared: FakeMessage = {
          channel,
          ts: this.#state.ts(),
          threadTs: parent?.ts,
          user: this.#state.botUserId,
          versions: [{ text: String(args.initial_comment ?? ''), blocks: undefined, at: Date.now() }],
          files: [],
        };
        for (const file of files) {
          const upload = file.id ? this.#uploads.get(file.id) : undefined;
          if (!upload || !file.id) return [200, { ok: false, error: 'file_not_found' }];
          shared.files.push({ id: file.id, title: file.title ?? upload.title, content: upload.content });
        }
        this.#state.messages.push(shared);
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
