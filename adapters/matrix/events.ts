// Pure Matrix event handling for the matrix adapter: turns a room message event into an
// IncomingMessage (or says why it is dropped) and builds the content of the bot's notices and edits.
// Identity is the event's `sender` (the user id the homeserver stamped); display names are for showing
// only. No client, no timers: unit-tested on its own.
import type { IncomingMessage, Reply } from '../../src/types.ts';

/** The fields of a client event the adapter reads. */
export interface RawEvent {
  event_id?: string;
  type: string;
  sender?: string;
  origin_server_ts?: number;
  content: Record<string, unknown>;
}

export interface EventContext {
  /** The bot's own user id. */
  ownId: string;
  roomId: string;
  /** The room is a one-to-one chat with the bot. */
  isDirect: boolean;
  /** The sender's display name in the room, for showing only. */
  senderName: string | undefined;
  /** Names the bot goes by in the room (display name, localpart): a pill shows one of them in `body`. */
  ownNames: readonly string[];
}

export type Normalized = { message: IncomingMessage } | { drop: string };

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Escapes text for an HTML body: nothing a user or a step printed can become markup. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** The HTML form of a plain-text reply: escaped, line breaks kept. */
function toHtml(text: string): string {
  return escapeHtml(text).replace(/\r?\n/g, '<br>');
}

/** The content of a notice the bot sends (optionally into a thread). */
/**
 * Text that cannot notify a room: clients that predate `m.mentions` apply the `@room` push rule to
 * the body, so an `@room` a person typed and vmops echoes gets a word joiner after its `@` (it looks
 * the same and matches no rule).
 */
export function neutralizeMentions(text: string): string {
  return text.replace(/@(room)\b/gi, '@\u2060$1');
}

export function noticeContent(reply: Reply, thread?: string): Record<string, unknown> {
  const text = neutralizeMentions(reply.text);
  const content: Record<string, unknown> = {
    msgtype: 'm.notice',
    body: text,
    format: 'org.matrix.custom.html',
    formatted_body: toHtml(text),
    // Intentional mentions: none, so a notice never pings anyone by a name it happens to contain.
    'm.mentions': {},
  };
  if (thread) {
    content['m.relates_to'] = {
      rel_type: 'm.thread',
      event_id: thread,
      is_falling_back: true,
      'm.in_reply_to': { event_id: thread },
    };
  }
  return content;
}

/** The content of an edit (`m.replace`) of an earlier notice. */
export function editContent(eventId: string, reply: Reply): Record<string, unknown> {
  const text = neutralizeMentions(reply.text);
  const fresh = {
    msgtype: 'm.notice',
    body: text,
    format: 'org.matrix.custom.html',
    formatted_body: toHtml(text),
    'm.mentions': {},
  };
  return {
    msgtype: 'm.notice',
    body: `* ${text}`,
    format: 'org.matrix.custom.html',
    formatted_body: `* ${fresh.formatted_body}`,
    'm.new_content': fresh,
    'm.mentions': {},
    'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
  };
}

/** Removes the quoted fallback (`> <@a:b> …` lines and a blank line) of a rich reply. */
export function stripReplyFallback(body: string): string {
  const lines = body.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]?.startsWith('>')) i += 1;
  if (i === 0) return body;
  if (lines[i] === '') i += 1;
  return lines.slice(i).join('\n');
}

/** A matrix.to link to the user id (plain or percent-encoded) at the very start of the HTML body. */
function leadingPill(formatted: unknown, ownId: string): string | undefined {
  if (typeof formatted !== 'string') return undefined;
  const found = /^\s*<a\s+href=["']https:\/\/matrix\.to\/#\/([^"'?]+)[^"']*["'][^>]*>(.*?)<\/a>/i.exec(
    formatted,
  );
  if (!found?.[1]) return undefined;
  let target: string;
  try {
    target = decodeURIComponent(found[1]);
  } catch {
    return undefined;
  }
  return target === ownId ? (found[2] ?? '').replace(/<[^>]*>/g, '') : undefined;
}

/**
 * Removes a mention of the bot at the start of the text: its user id, or (when the HTML body starts
 * with a pill to the bot, or the event's intentional mentions name it) the name the pill shows.
 */
export function stripMention(
  body: string,
  content: Record<string, unknown>,
  ownId: string,
  ownNames: readonly string[],
): { text: string; mentioned: boolean } {
  const trimmed = body.trim();
  const pill = leadingPill(content.formatted_body, ownId);
  const mentions = content['m.mentions'] as { user_ids?: unknown } | undefined;
  const intended = Array.isArray(mentions?.user_ids) && mentions.user_ids.includes(ownId);
  const names = [ownId];
  if (pill !== undefined || intended) names.push(...(pill ? [pill] : []), ...ownNames);
  for (const name of names) {
    if (name.trim() === '') continue;
    const found = new RegExp(`^@?${escapeRegExp(name)}(?=$|[\\s:,])[:,]?`, 'iu').exec(trimmed);
    if (found) return { text: trimmed.slice(found[0].length).trim(), mentioned: true };
  }
  return { text: trimmed, mentioned: false };
}

/** Turns a room event into an IncomingMessage, or says why it is not one. */
export function normalizeEvent(event: RawEvent, ctx: EventContext): Normalized {
  if (event.type !== 'm.room.message') return { drop: `type ${event.type}` };
  if (!event.event_id || !event.sender) return { drop: 'no event id or sender' };
  const content = event.content;
  const relation = content['m.relates_to'] as { rel_type?: unknown; event_id?: unknown } | undefined;
  if (relation?.rel_type === 'm.replace') return { drop: 'an edit' };
  // Notices are what bots send; only text messages are commands.
  if (content.msgtype !== 'm.text') return { drop: `msgtype ${String(content.msgtype)}` };
  if (typeof content.body !== 'string' || content.body.trim() === '') return { drop: 'no body' };
  const isSelf = event.sender === ctx.ownId;
  const body = stripReplyFallback(content.body);
  const mention = stripMention(body, content, ctx.ownId, ctx.ownNames);
  const thread =
    relation?.rel_type === 'm.thread' && typeof relation.event_id === 'string'
      ? relation.event_id
      : undefined;
  return {
    message: {
      eventId: event.event_id,
      sender: {
        id: event.sender,
        displayName: ctx.senderName ?? event.sender,
        isBot: false,
        isSelf,
      },
      target: {
        network: 'matrix',
        room: ctx.roomId,
        isDirect: ctx.isDirect,
        ...(thread ? { thread } : {}),
      },
      text: mention.text,
      mentioned: mention.mentioned,
      sentAt: event.origin_server_ts ?? 0,
    },
  };
}
