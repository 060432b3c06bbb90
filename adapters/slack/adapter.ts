// Slack as a chat network, through Bolt: Socket Mode by default (an outbound WebSocket, no public URL),
// or the Events API over HTTP with every request's signature checked. It reacts to mentions
// (`app_mention`), direct messages (`message` in an `im`), the slash command (`/vmops`) and clicks on
// its own buttons. Each is acknowledged to Slack only once the message has been handed over (taken
// into the durable intake, which takes milliseconds): Bolt acknowledges events before its listeners
// run, so the receiver is given an App whose acknowledgement waits for the listeners (see
// receiver.ts ackAfterHandOver); an event whose hand-over failed is not acknowledged, and Slack delivers it again.
// Deduplication of redeliveries, and of the same event seen by several bot instances, is the
// pipeline's ingress (IncomingMessage.eventId = the Events API event_id; a slash command's or click's
// trigger_id). Identity is the Slack user id (see events.ts). Sending is one Web API call per send or
// edit, never queued or retried here: the core's outbox paces (by `limits.sendBudget` and
// `editBudget`: chat.postMessage per channel, chat.update per workspace), waits out 429s and retries
// what send-errors.ts calls retryable. A job's status message is a Block Kit card updated with
// chat.update (the notifier puts a finished job's details in the card's thread: `limits.threads`); a
// reply too long for a message is posted short, with the whole text as a file in its thread. Holds no
// policy. The parts: receiver.ts (Socket Mode or HTTP, the held acknowledgement), web-api.ts (the
// client, auth.test), events.ts (payload → IncomingMessage), outgoing.ts (messages, cards, response_url
// answers, long replies), blocks.ts; this file wires them to Bolt.

import { App, type HTTPReceiver, type SocketModeReceiver, webApi } from '@slack/bolt';
import { VmopsError } from '../../src/errors.ts';
import type {
  AdapterLimits,
  ChatAdapter,
  ChatTarget,
  IncomingMessage,
  MessageRef,
  Reply,
} from '../../src/types.ts';
import { settleWithin } from '../shared/settle.ts';
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
import type { SlackAdapterOptions } from './options.ts';
import { SlackSender } from './outgoing.ts';
import { ackAfterHandOver, httpReceiver, socketReceiver } from './receiver.ts';
import { authTest, boltLogger, callWebApi, type WebClient, webClientOptions } from './web-api.ts';

export type { Pace, SlackAdapterOptions } from './options.ts';

export class SlackAdapter implements ChatAdapter {
  readonly network = NETWORK;
  readonly limits: AdapterLimits;
  readonly #o: SlackAdapterOptions;
  readonly #client: WebClient;
  readonly #sender: SlackSender;
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
    this.#client = new webApi.WebClient(options.token, webClientOptions(options));
    this.#sender = new SlackSender({
      call: (method, args) => callWebApi(this.#client, method, args),
      uploadOver: options.uploadOver,
      ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
      log: options.log,
      now: () => (options.now ?? Date.now)(),
    });
  }

  async start(onMessage: (message: IncomingMessage) => Promise<void>): Promise<void> {
    if (this.#app) throw new Error('the slack adapter is already started');
    const log = this.#o.log;
    const auth = await authTest(this.#client, () => this.#stopped);
    this.#ctx = {
      botUserId: auth.user_id,
      botId: auth.bot_id,
      homeTeam: auth.team_id,
    };
    this.#onMessage = onMessage;
    const logger = boltLogger(log.child({ part: 'bolt' }));
    let receiver: SocketModeReceiver | HTTPReceiver;
    if (this.#o.mode === 'socket') {
      const socket = socketReceiver(this.#o, logger, {
        stopped: () => this.#stopped,
        up: (open) => {
          this.#up = open;
        },
        log,
      });
      this.#socket = socket;
      receiver = socket;
    } else {
      receiver = httpReceiver(this.#o, logger);
      this.#http = receiver;
    }
    const app = new App({
      token: this.#o.token,
      botId: auth.bot_id,
      botUserId: auth.user_id,
      tokenVerificationEnabled: false,
      receiver,
      logger,
      clientOptions: webClientOptions(this.#o),
    });
    this.#app = app;
    app.error(async (error) => {
      log.warn(
        { err: { name: error.name, message: error.message, code: error.code } },
        'slack listener error',
      );
    });
    // The receiver hands events to an App whose acknowledgement waits until the listeners below are done.
    receiver.init(ackAfterHandOver(app, this.#failed, this.#handingOver));
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

  #context(): SlackContext {
    if (!this.#ctx) throw new Error('the slack adapter is not started');
    return { ...this.#ctx, now: (this.#o.now ?? Date.now)() };
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

  send(target: ChatTarget, reply: Reply): Promise<MessageRef> {
    return this.#sender.send(target, reply);
  }

  edit(ref: MessageRef, reply: Reply): Promise<void> {
    return this.#sender.edit(ref, reply);
  }
}
