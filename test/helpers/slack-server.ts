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
// The parts, under test/helpers/slack/: web-api.ts (HTTP routes: Web API, response_url, uploads),
// socket-mode.ts, people.ts (slash commands and clicks), rate-limit.ts, content.ts (Slack's checks on message content), state.ts (what it
// holds), signing.ts (HTTP mode's signed requests), types.ts.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clickPayload, slashPayload } from './slack/people.ts';
import { SocketMode } from './slack/socket-mode.ts';
import { SlackState } from './slack/state.ts';
import type {
  ApiCall,
  Connection,
  Envelope,
  EphemeralMessage,
  FakeMessage,
  FakeSlackOptions,
} from './slack/types.ts';
import { WebApi } from './slack/web-api.ts';

export { postSigned, slackSignature } from './slack/signing.ts';
export type {
  ApiCall,
  Envelope,
  EphemeralMessage,
  FakeMessage,
  FakeSlackOptions,
  MessageVersion,
  Rate,
} from './slack/types.ts';

export class FakeSlack {
  readonly #state: SlackState;
  readonly #socket: SocketMode;
  readonly #api: WebApi;
  readonly #server: Server;

  constructor(options: FakeSlackOptions = {}) {
    this.#state = new SlackState(options);
    this.#socket = new SocketMode(this.#state, {
      redeliverAfterMs: options.redeliverAfterMs ?? 3000,
      maxRedeliveries: options.maxRedeliveries ?? 3,
      pingIntervalMs: options.pingIntervalMs ?? 5000,
    });
    this.#api = new WebApi(
      this.#state,
      {
        postLimit: options.postLimit ?? { perSecond: 1, burst: 1 },
        updateLimit: options.updateLimit ?? { perSecond: 50 / 60, burst: 5 },
        closedChannels: options.closedChannels ?? [],
      },
      this.#socket,
    );
    this.#server = createServer((req, res) => {
      void this.#api.onRequest(req, res).catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
    });
    this.#server.on('upgrade', (req, socket, head) => this.#socket.upgrade(req, socket, head));
  }

  get botToken(): string {
    return this.#state.botToken;
  }
  get appToken(): string {
    return this.#state.appToken;
  }
  get teamId(): string {
    return this.#state.teamId;
  }
  get botUserId(): string {
    return this.#state.botUserId;
  }
  get botId(): string {
    return this.#state.botId;
  }
  get calls(): ApiCall[] {
    return this.#state.calls;
  }
  get messages(): FakeMessage[] {
    return this.#state.messages;
  }
  /** Messages only one person saw. */
  get ephemerals(): EphemeralMessage[] {
    return this.#state.ephemerals;
  }
  /** 429 answers sent. */
  get rateLimited(): number {
    return this.#state.rateLimited;
  }
  /** Requests that came while a Retry-After given for their limit had not passed. */
  get earlyRetries(): number {
    return this.#state.earlyRetries;
  }
  /** Every envelope sent (each attempt), with the connection it went to. */
  get sent(): { envelope: Envelope; connection: number }[] {
    return this.#socket.sent;
  }
  get acks(): { envelopeId: string; payload: unknown; connection: number }[] {
    return this.#socket.acks;
  }
  get connections(): Connection[] {
    return this.#socket.connections;
  }

  on(event: 'change', listener: () => void): this {
    this.#state.on(event, listener);
    return this;
  }
  off(event: 'change', listener: () => void): this {
    this.#state.off(event, listener);
    return this;
  }

  /** The Web API base URL (slackApiUrl). */
  get apiUrl(): string {
    return `${this.#state.baseUrl}/api/`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#state.port = (this.#server.address() as AddressInfo).port;
    this.#socket.start();
    return this;
  }

  async stop(): Promise<void> {
    this.#socket.stop();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---- Socket Mode (socket-mode.ts) ----

  /** Open connections, oldest first. */
  openConnections(): Connection[] {
    return this.#socket.openConnections();
  }

  /** Sends `{"type":"disconnect"}` on every open connection (Slack does so before recycling a host). */
  disconnect(reason?: string): void {
    this.#socket.disconnect(reason);
  }

  /** Drops every connection without a word (the network went away). */
  dropConnections(): void {
    this.#socket.dropConnections();
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
    return this.#socket.deliver(type, payload, options);
  }

  /** Envelopes sent but not acknowledged (nor given up). */
  get unacked(): number {
    return this.#socket.unacked;
  }

  // ---- Web API (web-api.ts) ----

  /**
   * The next `count` calls of `method` are answered 502 Bad Gateway by a proxy in front of Slack: Slack
   * never sees them.
   */
  failCalls(method: string, count: number): void {
    this.#api.failCalls(method, count);
  }

  /** Deletes a message (as a person with the rights would): updating it is then `message_not_found`. */
  deleteMessage(channel: string, ts: string): void {
    const at = this.messages.findIndex((m) => m.channel === channel && m.ts === ts);
    if (at >= 0) this.messages.splice(at, 1);
    this.#state.changed();
  }

  // ---- What people do ----

  #eventId(): string {
    return `Ev0FAKE${String(this.#state.nextId()).padStart(6, '0')}`;
  }

  /** An Events API payload (event_callback) around an event. */
  eventPayload(event: Record<string, unknown>, eventId = this.#eventId()): Record<string, unknown> {
    return {
      token: 'verification-token-unused',
      team_id: this.#state.teamId,
      api_app_id: 'A0VMOPS',
      event,
      type: 'event_callback',
      event_id: eventId,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: this.#state.teamId, user_id: this.#state.botUserId, is_bot: true }],
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
    const ts = this.#state.ts();
    return {
      type: 'app_mention',
      user,
      text: `<@${this.#state.botUserId}> ${text}`,
      ts,
      channel,
      event_ts: ts,
      team: this.#state.teamId,
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
    return this.#state.dmChannel(user);
  }

  /** A direct message to the bot: a `message` event in an im. */
  dm(
    user: string,
    text: string,
    extra: Record<string, unknown> = {},
  ): { eventId: string; envelope: Envelope } {
    const ts = this.#state.ts();
    const payload = this.eventPayload({
      type: 'message',
      channel: this.dmChannel(user),
      user,
      text,
      ts,
      event_ts: ts,
      channel_type: 'im',
      team: this.#state.teamId,
      ...extra,
    });
    const envelope = this.deliver('events_api', payload);
    return { eventId: String(payload.event_id), envelope };
  }

  /** `/vmops <text>` in a channel. */
  slash(user: string, channel: string, text: string, command = '/vmops'): Envelope {
    const responseUrl = this.#api.responseUrl(channel, user);
    return this.deliver(
      'slash_commands',
      slashPayload(this.#state, user, channel, text, command, responseUrl),
    );
  }

  /** A click on the button labelled `label` of a message the bot sent. */
  click(user: string, message: FakeMessage, label: string, options: { loseAck?: boolean } = {}): Envelope {
    const responseUrl = this.#api.responseUrl(message.channel, user, message.ts);
    return this.deliver('interactive', clickPayload(this.#state, user, message, label, responseUrl), options);
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
        this.#state.off('change', check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.#state.off('change', check);
        const texts = this.messages.map((m) => `${m.channel} ${m.ts}: ${m.versions.at(-1)?.text}`);
        reject(new Error(`timed out waiting for ${what}; messages:\n${texts.join('\n')}`));
      }, timeoutMs);
      this.#state.on('change', check);
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
}
