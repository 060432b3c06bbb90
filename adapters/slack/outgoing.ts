// What the bot says on Slack: a reply or a status card as a message (Block Kit, blocks.ts), updated with
// chat.update; a refusal of a slash command or click as an ephemeral answer through its response_url;
// in a private channel or DM the bot is not in, the answer through the response_url (redrawn only when
// its state changes, as a response_url takes 5 uses); a reply too long for a message as its start plus
// the whole text as a file in the thread; a direct target's DM channel opened once per user.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { SendFailure } from '../../src/chat/send-failure.ts';
import type { ChatTarget, MessageRef, Reply } from '../../src/types.ts';
import { escapeText, replyBlocks } from './blocks.ts';
import { NETWORK } from './events.ts';

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

export interface SlackSenderOptions {
  /** One Web API call (web-api.ts callWebApi). */
  call(method: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Replies longer than this (characters) are posted short with the whole text as a file; 0: never. */
  uploadOver: number;
  /** A response_url request's timeout (ms; default 15000). */
  requestTimeoutMs?: number;
  log: Logger;
  now(): number;
}

export class SlackSender {
  readonly #o: SlackSenderOptions;
  /** The state each card posted through a response_url shows (see edit). */
  readonly #responseStates = new Map<string, string>();
  /** Direct-message channels by user id. */
  readonly #dms = new Map<string, string>();

  constructor(options: SlackSenderOptions) {
    this.#o = options;
  }

  async send(target: ChatTarget, reply: Reply): Promise<MessageRef> {
    const now = this.#o.now();
    const blocks = replyBlocks(reply, now);
    // A refusal of a slash command or a click is for the person who asked: ephemeral, through the
    // command's response_url.
    if (target.replyUrl && reply.tone === 'error' && !reply.status) {
      await this.#respond(target.replyUrl, { response_type: 'ephemeral', ...messageBody(reply, blocks) });
      return { network: NETWORK, room: target.room, id: `${EPHEMERAL}${randomUUID()}` };
    }
    const channel = await this.#channelFor(target);
    const uploadOver = this.#o.uploadOver;
    if (!reply.status && uploadOver > 0 && reply.text.length > uploadOver) {
      return this.#sendLong(channel, target.thread, reply);
    }
    let result: Record<string, unknown>;
    try {
      result = await this.#o.call('chat.postMessage', {
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
      return { network: NETWORK, room: channel, id: `${RESPONSE}${target.replyUrl}` };
    }
    return {
      network: NETWORK,
      room: channel,
      id: String(result.ts),
      ...(target.thread ? { thread: target.thread } : {}),
    };
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    const now = this.#o.now();
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
    await this.#o.call('chat.update', {
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
    const posted = await this.#o.call('chat.postMessage', {
      channel,
      text,
      ...(thread ? { thread_ts: thread } : {}),
      unfurl_links: false,
      unfurl_media: false,
    });
    const ts = String(posted.ts);
    await this.#o
      .call('files.uploadV2', {
        channel_id: channel,
        thread_ts: thread ?? ts,
        content: reply.text,
        filename: 'vmops-reply.txt',
        title: (lines[0] ?? 'vmops').slice(0, 200),
      })
      .catch((error: unknown) => this.#o.log.warn({ err: error }, 'could not upload the whole reply'));
    return { network: NETWORK, room: channel, id: ts, ...(thread ? { thread } : {}) };
  }

  /** A channel id for a target: a direct target names a user, whose DM channel is opened once. */
  async #channelFor(target: ChatTarget): Promise<string> {
    const room = target.room;
    if (!(target.isDirect && /^[UW][A-Z0-9]+$/.test(room))) return room;
    const known = this.#dms.get(room);
    if (known) return known;
    const opened = await this.#o.call('conversations.open', { users: room });
    const channel = (opened.channel as { id?: string } | undefined)?.id;
    if (!channel) throw new Error(`conversations.open gave no channel for ${room}`);
    this.#dms.set(room, channel);
    return channel;
  }
}
