// Turns what Slack sends (Events API events, slash commands, button clicks) into IncomingMessage, or
// says why it is dropped. Identity comes from the Slack user id only, qualified by the user's team when
// that is not the bot's own workspace (Slack Connect): `U123` for a member of the bot's workspace,
// `T0OTHER:U456` for a member of another one. `user_name`, `username`, display names and profile
// fields never count. Messages with a subtype (edits, deletions, joins, bot_message, file shares…) and
// messages from bots are dropped here, before the pipeline.
import type { IncomingMessage } from '../../src/types.ts';

export const NETWORK = 'slack';

/** What normalising needs to know about the bot. */
export interface SlackContext {
  /** The bot's own user id (auth.test user_id). */
  botUserId: string;
  /** The bot's bot id (auth.test bot_id), which its own messages carry. */
  botId: string | undefined;
  /** The workspace the bot is installed in (auth.test team_id). */
  homeTeam: string;
  now: number;
}

export type Normalized = { message: IncomingMessage } | { drop: string };

/** An Events API event, as much of it as vmops reads. */
export interface SlackEvent {
  type: string;
  subtype?: string;
  user?: string;
  bot_id?: string;
  app_id?: string;
  text?: string;
  ts?: string;
  thread_ts?: string;
  channel?: string;
  channel_type?: string;
  team?: string;
  user_team?: string;
}

/** The account id a Slack user is known by in config (see the file comment). */
export function accountId(user: string, team: string | undefined, homeTeam: string): string {
  return team && team !== homeTeam ? `${team}:${user}` : user;
}

/** The user id part of an account id (`T1:U2` → `U2`). */
export function userOfAccount(account: string): string {
  const colon = account.lastIndexOf(':');
  return colon >= 0 ? account.slice(colon + 1) : account;
}

/** Slack's escaping of &, < and > in message text, undone. */
function unescapeText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * Plain text of a Slack message: the bot's mention at the start removed (`mentioned`), other user and
 * channel mentions and links shown by their label or id, entities undone.
 */
export function plainText(text: string, botUserId: string): { text: string; mentioned: boolean } {
  const own = new RegExp(`^\\s*<@${botUserId}(?:\\|[^>]*)?>[\\s:,]*`);
  const mentioned = own.test(text);
  const rest = text.replace(own, '');
  const shown = rest.replace(/<([^<>|]*)(?:\|([^<>]*))?>/g, (_all, target: string, label?: string) => {
    if (label) return label;
    if (target.startsWith('@') || target.startsWith('#')) return target;
    if (target.startsWith('!')) return `@${target.slice(1)}`;
    return target;
  });
  return { text: unescapeText(shown).trim(), mentioned };
}

const isDirectChannel = (channel: string) => channel.startsWith('D');

/** `app_mention` in a channel, or `message` in a direct conversation with the bot. */
export function normalizeEvent(
  event: SlackEvent,
  envelope: { event_id?: string; team_id?: string; event_time?: number },
  ctx: SlackContext,
): Normalized {
  if (event.type !== 'app_mention' && event.type !== 'message') return { drop: `event ${event.type}` };
  if (event.subtype) return { drop: `subtype ${event.subtype}` };
  if (!envelope.event_id) return { drop: 'no event_id' };
  if (!event.user || !event.channel || event.text === undefined) return { drop: 'no user, channel or text' };
  const isSelf = event.user === ctx.botUserId || (ctx.botId !== undefined && event.bot_id === ctx.botId);
  const isBot = event.bot_id !== undefined;
  if (event.type === 'message' && event.channel_type !== 'im') return { drop: 'message outside a DM' };
  const direct = event.channel_type === 'im' || isDirectChannel(event.channel);
  const { text, mentioned } = plainText(event.text, ctx.botUserId);
  const team = event.user_team ?? event.team ?? envelope.team_id;
  const sentAt = event.ts ? Math.round(Number(event.ts) * 1000) : (envelope.event_time ?? 0) * 1000;
  return {
    message: {
      eventId: envelope.event_id,
      sender: {
        id: accountId(event.user, team, ctx.homeTeam),
        displayName: event.user,
        isBot,
        isSelf,
      },
      target: {
        network: NETWORK,
        room: event.channel,
        ...(event.thread_ts ? { thread: event.thread_ts } : {}),
        isDirect: direct,
      },
      text,
      mentioned: event.type === 'app_mention' || mentioned,
      sentAt: Number.isFinite(sentAt) && sentAt > 0 ? sentAt : ctx.now,
    },
  };
}

/** A slash command (`/vmops build 2.6 kvm`). */
export interface SlashCommand {
  command: string;
  text?: string;
  user_id: string;
  team_id?: string;
  user_team?: string;
  channel_id: string;
  channel_name?: string;
  trigger_id?: string;
  /** Where answers to this command can go, also in channels the bot is not in (30 min, 5 uses). */
  response_url?: string;
}

export function normalizeCommand(body: SlashCommand, ctx: SlackContext): Normalized {
  if (!body.user_id || !body.channel_id) return { drop: 'no user or channel' };
  if (!body.trigger_id) return { drop: 'no trigger_id' };
  const direct = body.channel_name === 'directmessage' || isDirectChannel(body.channel_id);
  return {
    message: {
      // A slash command has no event id; its trigger_id is unique per invocation and the same on redelivery.
      eventId: `command:${body.trigger_id}`,
      sender: {
        id: accountId(body.user_id, body.user_team ?? body.team_id, ctx.homeTeam),
        displayName: body.user_id,
        isBot: false,
        isSelf: body.user_id === ctx.botUserId,
      },
      target: {
        network: NETWORK,
        room: body.channel_id,
        isDirect: direct,
        ...(body.response_url ? { replyUrl: body.response_url } : {}),
      },
      text: unescapeText(body.text ?? '').trim(),
      mentioned: true,
      sentAt: ctx.now,
    },
  };
}

/** Button ids vmops draws start with this; the button's value is the command a click stands for. */
export const ACTION_PREFIX = 'vmops_action_';

/** A `block_actions` payload (a button click), as much of it as vmops reads. */
export interface BlockActions {
  type: string;
  user?: { id?: string; team_id?: string };
  team?: { id?: string } | null;
  trigger_id?: string;
  channel?: { id?: string };
  container?: { channel_id?: string; message_ts?: string; thread_ts?: string };
  message?: { ts?: string; thread_ts?: string };
  actions?: { action_id?: string; value?: string; action_ts?: string }[];
  /** Where answers to this click can go (30 min, 5 uses). */
  response_url?: string;
}

/**
 * A click on a vmops button: the button's command, said by the clicking user where the button is. It
 * goes through the same pipeline as typed text (same roles, same approval rules); a click can do nothing
 * the clicking user could not type.
 */
export function normalizeClick(body: BlockActions, ctx: SlackContext): Normalized {
  const action = body.actions?.find((a) => a.action_id?.startsWith(ACTION_PREFIX));
  if (body.type !== 'block_actions' || !action) return { drop: 'not a vmops button' };
  const user = body.user?.id;
  const channel = body.channel?.id ?? body.container?.channel_id;
  if (!user || !channel || !action.value) return { drop: 'no user, channel or value' };
  const stamp = action.action_ts ?? body.trigger_id;
  if (!stamp) return { drop: 'no action_ts or trigger_id' };
  const thread = body.message?.thread_ts ?? body.container?.thread_ts;
  const sentAt = action.action_ts ? Math.round(Number(action.action_ts) * 1000) : ctx.now;
  return {
    message: {
      // Stable over redeliveries of the same click (one trigger_id per click), distinct per click.
      eventId: `click:${body.trigger_id ?? `${user}:${stamp}`}`,
      sender: {
        id: accountId(user, body.user?.team_id ?? body.team?.id ?? undefined, ctx.homeTeam),
        displayName: user,
        isBot: false,
        isSelf: user === ctx.botUserId,
      },
      target: {
        network: NETWORK,
        room: channel,
        ...(thread ? { thread } : {}),
        isDirect: isDirectChannel(channel),
        ...(body.response_url ? { replyUrl: body.response_url } : {}),
      },
      text: action.value,
      mentioned: true,
      sentAt: Number.isFinite(sentAt) && sentAt > 0 ? sentAt : ctx.now,
    },
  };
}
