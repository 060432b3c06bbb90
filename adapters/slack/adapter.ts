// Slack as a chat network, through Bolt: Socket Mode by default (an outbound WebSocket, no public URL),
// or the Events API over HTTP with every request's signature checked. It reacts to mentions
// (`app_mention`), direct messages (`message` in an `im`), the slash command (`/vmops`) and clicks on
// its own buttons. Each is acknowledged to Slack only once the message has been handed over (taken
// into the durable intake, which takes milliseconds): Bolt acknowledges events before its listeners
// run, so the receiver is given an App whose acknowledgement waits for the listeners (see
// #ackAfterHandOver); an event whose hand-over failed is not acknowledged, and Slack delivers it again.
// Deduplication of redeliveries, and of the same event seen by several bot instances, is the
// pipeline's ingress (IncomingMessage.eventId = the Events API event_id; a slash command's or click's
// trigger_id). Identity is the Slack user id (see events.ts). Sending is one Web API call per send or
// edit, never queued or retried here: the core's outbox paces (by `limits.sendBudget` and
// `editBudget`: chat.postMessage per channel, chat.update per workspace), waits out 429s and retries
// what send-errors.ts calls retryable. A job's status message is a Block Kit card updated with
// chat.update (the notifier puts a finished job's details in the card's thread: `limits.threads`); a
// reply too long for a message is posted short, with the whole text as a file in its thread. Holds no
// policy.

import { randomUUID } from 'node:crypto';
import {
  App,
  type Logger as BoltLogger,
  HTTPReceiver,
  LogLevel,
  type ReceiverEvent,
  SocketModeReceiver,
  webApi,
} from '@slack/bolt';
import pRetry, { AbortError } from 'p-retry';
import type { Logger } from 'pino';
import { VmopsError } from '../../src/errors.ts';
import { SendFailure } from '../../src/send-failure.ts';
import type {
  AdapterLimits,
  ChatAdapter,
  ChatTarget,
  IncomingMessage,
  MessageRef,
  Reply,
} from '../../src/types.ts';
import { settleWithin } from '../shared/settle.ts';
import { escapeText, replyBlocks } from './blocks.ts';
import {
  ACTION_PREFIX,
  type BlockActions,
  NETWORK,
  type Normalized,
  normalizeClick,
  normalizeCommand,
  normalizeEvent,
  type SlackContext,
  type SlackEvent,
  type SlashCommand,
  userOfAccount,
} from './events.ts';
import { asSendFailure, isTransient } from './send-errors.ts';

/** A Slack rate limit: a sustained rate and a burst. */
export interface Pace {
  perSecond: number;
  burst: number;
}

export interface SlackAdapterOptions {
  /** Bot token (xoxb-…). */
  token: string;
  /** `socket`: Socket Mode (needs appToken); `http`: the Events API on an HTTP endpoint (needs signingSecret). */
  mode: 'socket' | 'http';
  /** App-level token (xapp-…) with connections:write, for Socket Mode. */
  appToken?: string;
  /** The app's signing secret, for HTTP mode. */
  signingSecret?: string;
  /** HTTP mode: where the endpoint listens, and its path (events, commands and interactivity alike). */
  http?: { port: number; host: string; path: string };
  /** The slash command, e.g. `/vmops`. */
  command: string;
  /** Web API base URL (default https://slack.com/api/). */
  apiUrl?: string;
  minEditIntervalMs: number;
  maxMessageLength: number;
  /** chat.postMessage per channel. */
  postPace: Pace;
  /** chat.update for the whole workspace. */
  updatePace: Pace;
  /** Say the network has threads, so the notifier posts a finished job's details in its card's thread. */
  threadDetails: boolean;
  /** Replies longer than this (characters) are posted short with the whole text as a file; 0: never. */
  uploadOver: number;
  log: Logger;
  /** Socket Mode: how long a pong may take, and the wait before a reconnect (ms; default 5000). */
  clientPingTimeoutMs?: number;
  /** Socket Mode: how long without a ping from Slack before reconnecting (ms; default 30000). */
  serverPingTimeoutMs?: number;
  /** One Web API request's timeout (ms; default 15000). */
  requestTimeoutMs?: number;
  now?: () => number;
}

/** Message ids of answers that went through a response_url: ephemeral ones, and ones in the channel. */
const EPHEMERAL = 'ephemeral:';
const RESPONSE = 'response:';

/**
 * The text of a message as Slack shows it literally: `&`, `<` and `>` escaped (no mention, no link) and
 * mrkdwn off when there are no blocks, so `*bold*` or backticks a person typed stay as typed.
 */
function messageBody(reply: Reply, blocks: ReturnType<typeof replyBlocks>): Record<string, unknown> {
  return { text: escapeText(reply.text), ...(blocks ? { blocks } : { mrkdwn: false }) };
}

/** Bolt's logger interface over pino. Bolt's debug output goes to debug; nothing of it carries tokens. */
function boltLogger(log: Logger): BoltLogger {
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : String(m))).join(' ');
  return {
    debug: (...msg) => log.debug(text(msg)),
    info: (...msg) => log.debug(text(msg)),
    warn: (...msg) => log.warn(text(msg)),
    error: (...msg) => log.error(text(msg)),
    setLevel: () => undefined,
    getLevel: () => (log.isLevelEnabled('debug') ? LogLevel.DEBUG : LogLevel.INFO),
    setName: () => undefined,
  };
}

export class SlackAdapter implements ChatAdapter {
  readonly network = NETWORK;
  readonly limits: AdapterLimits;
  readonly #o: SlackAdapterOptions;
  readonly #client: InstanceType<typeof webApi.WebClient>;
  #app: App | undefined;
  #socket: SocketModeReceiver | undefined;
  #http: HTTPReceiver | undefined;
  #ctx: Omit<SlackContext, 'now'> | undefined;
  #onMessage: ((message: IncomingMessage) => Promise<void>) | undefined;
  #stopped = false;
  /** Socket Mode: the socket is open; HTTP mode: the events endpoint listens. */
  #up = false;
  /** Events being handed over and not yet acknowledged. */
  readonly #handingOver = new Set<Promise<void>>();
  /** Bodies of events whose hand-over failed: they are not acknowledged. */
  readonly #failed = new WeakSet<object>();
  /** The state each card posted through a response_url shows (see edit). */
  readonly #responseStates = new Map<string, string>();
  /** Direct-message channels by user id. */
  readonly #dms = new Map<string, string>();

  constructor(options: SlackAdapterOptions) {
    if (options.mode === 'socket' && !options.appToken) {
      throw new VmopsError(
        'config_invalid',
        'networks.slack: Socket Mode needs appToken (an xapp-… token with connections:write)',
      );
    }
    if (options.mode === 'http' && !options.signingSecret) {
      throw new VmopsError('config_invalid', 'networks.slack: HTTP mode needs signingSecret');
    }
    this.#o = options;
    this.limits = {
      canEdit: true,
      minEditIntervalMs: options.minEditIntervalMs,
      maxMessageLength: options.maxMessageLength,
      // The notifier puts a finished job's details (log tail, test report) in its card's thread.
      threads: options.threadDetails,
      // Slack counts chat.postMessage per channel and chat.update per workspace.
      sendBudget: { per: 'room', rate: options.postPace },
      editBudget: { per: 'workspace', rate: options.updatePace },
      ...(options.uploadOver > 0 ? { attachesLongText: true } : {}),
    };
    this.#client = new webApi.WebClient(options.token, this.#clientOptions());
  }

  /** Web API calls never retry or wait inside the SDK: the core's outbox does that. */
  #clientOptions(): webApi.WebClientOptions {
    return {
      ...(this.#o.apiUrl ? { slackApiUrl: this.#o.apiUrl } : {}),
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: this.#o.requestTimeoutMs ?? 15_000,
      logger: boltLogger(this.#o.log.child({ part: 'web-api' })),
    };
  }

  async start(onMessage: (message: IncomingMessage) => Promise<void>): Promise<void> {
    if (this.#app) throw new Error('the slack adapter is already started');
    const log = this.#o.log;
    const auth = await this.#authTest();
    this.#ctx = {
      botUserId: auth.user_id,
      botId: auth.bot_id,
      homeTeam: auth.team_id,
    };
    this.#onMessage = onMessage;
    const logger = boltLogger(log.child({ part: 'bolt' }));
    let receiver: SocketModeReceiver | HTTPReceiver;
    if (this.#o.mode === 'socket') {
      // apps.connections.open goes through its own client: it may retry (bounded, with backoff) while
      // Slack is unreachable, and after stop() it is answered at once so no retry outlives the adapter.
      const socket = new SocketModeReceiver({
        appToken: this.#o.appToken ?? '',
        logger,
        clientPingTimeout: this.#o.clientPingTimeoutMs ?? 5000,
        serverPingTimeout: this.#o.serverPingTimeoutMs ?? 30_000,
        installerOptions: {
          clientOptions: {
            ...(this.#o.apiUrl ? { slackApiUrl: this.#o.apiUrl } : {}),
            retryConfig: { retries: 20, factor: 1.5, minTimeout: 500, maxTimeout: 15_000, randomize: true },
            timeout: this.#o.requestTimeoutMs ?? 15_000,
            fetch: (url: string | URL | Request, init?: RequestInit) =>
              this.#stopped
                ? Promise.resolve(Response.json({ ok: false, error: 'vmops_stopped' }))
                : fetch(url, init),
          },
        },
      });
      socket.client.on('connected', () => {
        log.info('slack socket mode connected');
        this.#up = true;
      });
      socket.client.on('close', () => {
        this.#up = false;
        if (this.#stopped) return;
        log.info('slack socket mode connection closed; reconnecting');
      });
      this.#socket = socket;
      receiver = socket;
    } else {
      const http = this.#o.http ?? { port: 3000, host: '0.0.0.0', path: '/slack/events' };
      receiver = new HTTPReceiver({
        signingSecret: this.#o.signingSecret ?? '',
        endpoints: [http.path],
        logger,
      });
      this.#http = receiver;
    }
    const app = new App({
      token: this.#o.token,
      botId: auth.bot_id,
      botUserId: auth.user_id,
      tokenVerificationEnabled: false,
      receiver,
      logger,
      clientOptions: this.#clientOptions(),
    });
    this.#app = app;
    app.error(async (error) => {
      log.warn(
        { err: { name: error.name, message: error.message, code: error.code } },
        'slack listener error',
      );
    });
    // The receiver hands events to an App whose acknowledgement waits until the listeners below are done.
    receiver.init(this.#ackAfterHandOver(app));
    app.event('app_mention', async ({ event, body }) => {
      await this.#accept(normalizeEvent(event as SlackEvent, body, this.#context()), event.type, body);
    });
    app.event('message', async ({ event, body }) => {
      await this.#accept(normalizeEvent(event as SlackEvent, body, this.#context()), event.type, body);
    });
    app.command(this.#o.command, async ({ ack, command, body }) => {
      await ack();
      await this.#accept(normalizeCommand(command as SlashCommand, this.#context()), 'command', body);
    });
    app.action(new RegExp(`^${ACTION_PREFIX}`), async ({ ack, body }) => {
      await ack();
      await this.#accept(normalizeClick(body as BlockActions, this.#context()), 'click', body);
    });
    if (this.#http && this.#o.http) {
      await app.start({ port: this.#o.http.port, host: this.#o.http.host });
      log.info({ port: this.#o.http.port, path: this.#o.http.path }, 'slack events endpoint listening');
      this.#up = true;
    } else {
      await app.start();
    }
  }

  /** auth.test: who the bot is. A token Slack refuses stops start-up with a config error. */
  async #authTest(): Promise<{ user_id: string; bot_id: string | undefined; team_id: string }> {
    // Five attempts, 0.5, 1, 2 and 4 s apart; no more once stopped.
    return pRetry(
      async () => {
        try {
          const auth = await this.#client.auth.test();
          if (!auth.user_id || !auth.team_id)
            throw new Error('auth.test answered without user_id or team_id');
          return { user_id: auth.user_id, bot_id: auth.bot_id, team_id: auth.team_id };
        } catch (error) {
          const code = (error as { data?: { error?: string } }).data?.error;
          if (code && !isTransient(error)) {
            throw new AbortError(
              new VmopsError(
                'config_invalid',
                `Slack refused the bot token (${code}): check networks.slack.token (an xoxb-… bot token)`,
              ),
            );
          }
          throw error;
        }
      },
      { retries: 4, minTimeout: 500, factor: 2, randomize: false, shouldRetry: () => !this.#stopped },
    );
  }

  #context(): SlackContext {
    if (!this.#ctx) throw new Error('the slack adapter is not started');
    return { ...this.#ctx, now: (this.#o.now ?? Date.now)() };
  }

  /**
   * The App as the receiver sees it: its acknowledgement is held while the listeners run and sent
   * after them (with what a listener acknowledged with), unless handing the message over failed.
   */
  #ackAfterHandOver(app: App): App {
    const processEvent = async (event: ReceiverEvent): Promise<void> => {
      let response: Parameters<ReceiverEvent['ack']>[0];
      const handing = app
        .processEvent({
          ...event,
          ack: async (answer) => {
            response = answer;
          },
        })
        .then(async () => {
          if (this.#failed.has(event.body)) return;
          await event.ack(response);
        });
      const tracked = handing.finally(() => this.#handingOver.delete(tracked));
      this.#handingOver.add(tracked);
      await tracked;
    };
    return Object.assign(Object.create(app) as App, { processEvent });
  }

  /** Hands a message over; a failure marks its event unacknowledged, so Slack delivers it again. */
  async #accept(normalized: Normalized, kind: string, body: object): Promise<void> {
    if ('drop' in normalized) {
      this.#o.log.debug({ kind, reason: normalized.drop }, 'slack event dropped');
      return;
    }
    const onMessage = this.#onMessage;
    if (!onMessage || this.#stopped) {
      this.#failed.add(body);
      return;
    }
    try {
      await onMessage(normalized.message);
    } catch (error) {
      this.#failed.add(body);
      this.#o.log.error(
        { err: error, eventId: normalized.message.eventId },
        'slack message could not be taken in; not acknowledged, so Slack delivers it again',
      );
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#up = false;
    this.#onMessage = undefined;
    const app = this.#app;
    // Stop taking events first, then let what was already taken finish, then let the outbox drain.
    if (this.#socket) {
      const socket = this.#socket;
      await settleWithin(socket.client.disconnect(), 5000);
    } else if (this.#http && app) {
      await settleWithin(app.stop(), 5000);
    }
    await settleWithin(Promise.all(this.#handingOver), 10_000);
  }

  connected(): boolean {
    return this.#up && !this.#stopped;
  }

  directTarget(account: string): ChatTarget {
    return { network: this.network, room: userOfAccount(account), isDirect: true };
  }

  async send(target: ChatTarget, reply: Reply): Promise<MessageRef> {
    const now = (this.#o.now ?? Date.now)();
    const blocks = replyBlocks(reply, now);
    // A refusal of a slash command or a click is for the person who asked: ephemeral, through the
    // command's response_url.
    if (target.replyUrl && reply.tone === 'error' && !reply.status) {
      await this.#respond(target.replyUrl, { response_type: 'ephemeral', ...messageBody(reply, blocks) });
      return { network: this.network, room: target.room, id: `${EPHEMERAL}${randomUUID()}` };
    }
    const channel = await this.#channelFor(target);
    const uploadOver = this.#o.uploadOver;
    if (!reply.status && uploadOver > 0 && reply.text.length > uploadOver) {
      return this.#sendLong(channel, target.thread, reply);
    }
    let result: Record<string, unknown>;
    try {
      result = await this.#call('chat.postMessage', {
        channel,
        ...messageBody(reply, blocks),
        ...(target.thread ? { thread_ts: target.thread } : {}),
        unfurl_links: false,
        unfurl_media: false,
      });
    } catch (error) {
      // A private channel or a DM the bot is not in: a slash command there is answered through its
      // response_url, which Slack lets post there (and replace that message later).
      const code = (error as SendFailure).platformCode;
      if (!target.replyUrl || !(code === 'channel_not_found' || code === 'not_in_channel')) throw error;
      await this.#respond(target.replyUrl, { response_type: 'in_channel', ...messageBody(reply, blocks) });
      if (reply.status) this.#responseStates.set(target.replyUrl, reply.status.state);
      return { network: this.network, room: channel, id: `${RESPONSE}${target.replyUrl}` };
    }
    return {
      network: this.network,
      room: channel,
      id: String(result.ts),
      ...(target.thread ? { thread: target.thread } : {}),
    };
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    const now = (this.#o.now ?? Date.now)();
    const blocks = replyBlocks(reply, now);
    if (ref.id.startsWith(EPHEMERAL)) return; // seen by one person once; Slack keeps no handle on it
    if (ref.id.startsWith(RESPONSE)) {
      // A response_url takes 5 uses in all: a card there is redrawn when its state changes only
      // (posted, running, final: 3 uses), not for each step.
      const url = ref.id.slice(RESPONSE.length);
      const state = reply.status?.state;
      if (state !== undefined && this.#responseStates.get(url) === state) return;
      await this.#respond(url, { replace_original: true, ...messageBody(reply, blocks) });
      if (state !== undefined) this.#responseStates.set(url, state);
      return;
    }
    await this.#call('chat.update', {
      channel: ref.room,
      ts: ref.id,
      ...messageBody(reply, blocks),
      // An update without blocks of its own clears the old ones (an answered request's buttons).
      ...(blocks ? {} : { blocks: [] }),
    });
  }

  /** POSTs to a response_url; its failure becomes a SendFailure like a Web API call's. */
  async #respond(url: string, body: Record<string, unknown>): Promise<void> {
    let answer: Response;
    try {
      answer = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#o.requestTimeoutMs ?? 15_000),
      });
    } catch (error) {
      throw new SendFailure(
        'slack response_url unreachable',
        { retryable: true, platformCode: 'request_error' },
        { cause: error },
      );
    }
    const said = (await answer.text().catch(() => '')).trim();
    if (answer.ok) return;
    const retryAfter = Number(answer.headers.get('retry-after'));
    throw new SendFailure(`slack response_url refused: ${answer.status} ${said.slice(0, 100)}`, {
      retryable: answer.status === 429 || answer.status >= 500,
      ...(answer.status === 429
        ? { retryAfterMs: (Number.isFinite(retryAfter) ? retryAfter : 1) * 1000 }
        : {}),
      platformCode: said && said.length < 40 ? said : `http_${answer.status}`,
    });
  }

  /** A long reply: its start as a message, the whole text as a file in that message's thread. */
  async #sendLong(channel: string, thread: string | undefined, reply: Reply): Promise<MessageRef> {
    const lines = reply.text.split('\n');
    const head = lines.slice(0, 15).join('\n').slice(0, 1500);
    const text = `${escapeText(head)}\n… (${reply.text.length} characters in all: the whole text is attached in the thread)`;
    const posted = await this.#call('chat.postMessage', {
      channel,
      text,
      ...(thread ? { thread_ts: thread } : {}),
      unfurl_links: false,
      unfurl_media: false,
    });
    const ts = String(posted.ts);
    await this.#call('files.uploadV2', {
      channel_id: channel,
      thread_ts: thread ?? ts,
      content: reply.text,
      filename: 'vmops-reply.txt',
      title: (lines[0] ?? 'vmops').slice(0, 200),
    }).catch((error: unknown) => this.#o.log.warn({ err: error }, 'could not upload the whole reply'));
    return { network: this.network, room: channel, id: ts, ...(thread ? { thread } : {}) };
  }

  /** A channel id for a target: a direct target names a user, whose DM channel is opened once. */
  async #channelFor(target: ChatTarget): Promise<string> {
    const room = target.room;
    if (!(target.isDirect && /^[UW][A-Z0-9]+$/.test(room))) return room;
    const known = this.#dms.get(room);
    if (known) return known;
    const opened = await this.#call('conversations.open', { users: room });
    const channel = (opened.channel as { id?: string } | undefined)?.id;
    if (!channel) throw new Error(`conversations.open gave no channel for ${room}`);
    this.#dms.set(room, channel);
    return channel;
  }

  /** One Web API call; its failure becomes a SendFailure (retryable or not, with Slack's Retry-After). */
  async #call(method: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    try {
      if (method === 'files.uploadV2') {
        return (await this.#client.files.uploadV2(args as never)) as unknown as Record<string, unknown>;
      }
      return (await this.#client.apiCall(method, args)) as unknown as Record<string, unknown>;
    } catch (error) {
      throw asSendFailure(method, error);
    }
  }
}
