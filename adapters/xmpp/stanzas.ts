// Pure XMPP stanza handling for the xmpp adapter: reads MUC presences and turns message stanzas into
// IncomingMessage (or says why one is dropped). No connection, no timers: unit-tested on its own.
// Identity comes only from real JIDs: the server-stamped `from` of a direct message, or the real JID a
// MUC shows in an occupant's presence. Where a room hides it, the sender is the occupant JID
// (`room@service/nick`), which contains a `/` and so never equals a configured bare JID.
import { type Element, jid } from '@xmpp/client';
import type { IncomingMessage } from '../../src/types.ts';

export const NS = {
  muc: 'http://jabber.org/protocol/muc',
  mucUser: 'http://jabber.org/protocol/muc#user',
  delay: 'urn:xmpp:delay',
  stanzaId: 'urn:xmpp:sid:0',
  correct: 'urn:xmpp:message-correct:0',
  ping: 'urn:xmpp:ping',
} as const;

/** MUC status codes (XEP-0045 §15.6) the adapter acts on. */
export const STATUS = {
  nonAnonymous: 100,
  nowNonAnonymous: 172,
  nowSemiAnonymous: 173,
  nowFullyAnonymous: 174,
  self: 110,
  banned: 301,
  nickChanged: 303,
  kicked: 307,
} as const;

/** `local@domain` in canonical (lower-case) form, or undefined when the text is no JID. */
export function bareJid(address: string | undefined): string | undefined {
  if (!address) return undefined;
  try {
    return jid(address).bare().toString();
  } catch {
    return undefined;
  }
}

/** Splits `room@service/nick` into the canonical bare part and the resource (case kept). */
export function splitJid(address: string | undefined): { bare: string; resource: string } | undefined {
  if (!address) return undefined;
  try {
    const parsed = jid(address);
    return { bare: parsed.bare().toString(), resource: parsed.resource };
  } catch {
    return undefined;
  }
}

/** One occupant of a room, as its latest presence shows it. */
export interface Occupant {
  /** Bare real JID, when the room shows it to the bot. */
  realJid?: string;
  role?: string;
  affiliation?: string;
}

/** A presence from a MUC occupant, read. */
export interface MucPresence {
  room: string;
  nick: string;
  type: 'available' | 'unavailable' | 'error';
  statuses: ReadonlySet<number>;
  /** Bare real JID from `<item jid>`. */
  realJid?: string;
  role?: string;
  affiliation?: string;
  /** New nick of a nick change (status 303). */
  newNick?: string;
  /** Error condition of a type=error presence (e.g. `conflict` for a taken nick). */
  error?: string;
  /** The room was destroyed. */
  destroyed: boolean;
}

/** Reads a presence whose sender is an occupant JID; undefined for anything else. */
export function readMucPresence(stanza: Element): MucPresence | undefined {
  if (stanza.name !== 'presence') return undefined;
  const from = splitJid(stanza.attrs.from);
  if (!from || from.resource === '') return undefined;
  const x = stanza.getChild('x', NS.mucUser);
  const type = stanza.attrs.type;
  if (type === 'error') {
    const condition = stanza.getChild('error')?.getChildElements()[0]?.name;
    return {
      room: from.bare,
      nick: from.resource,
      type: 'error',
      statuses: new Set(),
      ...(condition ? { error: condition } : {}),
      destroyed: false,
    };
  }
  if (!x || (type !== undefined && type !== 'unavailable')) return undefined;
  const item = x.getChild('item');
  const statuses = new Set(
    x
      .getChildren('status')
      .map((s) => Number(s.attrs.code))
      .filter(Number.isFinite),
  );
  const realJid = bareJid(item?.attrs.jid);
  const presence: MucPresence = {
    room: from.bare,
    nick: from.resource,
    type: type === 'unavailable' ? 'unavailable' : 'available',
    statuses,
    destroyed: x.getChild('destroy') !== undefined,
  };
  if (realJid) presence.realJid = realJid;
  if (item?.attrs.role) presence.role = item.attrs.role;
  if (item?.attrs.affiliation) presence.affiliation = item.attrs.affiliation;
  if (item?.attrs.nick) presence.newNick = item.attrs.nick;
  return presence;
}

/** What the normaliser needs to know about one room. */
export interface RoomView {
  /** The join is complete (self-presence, then history, then the subject): messages are live, not history. */
  live: boolean;
  /** The bot's nick in the room, as the service assigned it. */
  ownNick: string;
  occupant(nick: string): Occupant | undefined;
}

export interface NormalizeContext {
  /** The bot's own bare JID. */
  ownJid: string;
  /** A configured room by its bare JID, or undefined when the JID is no room of the bot. */
  room(bare: string): RoomView | undefined;
  /** Names a message may start with to address the bot (`nick: …`, `@nick …`). */
  names: readonly string[];
  now: number;
  /** Makes an event id when a stanza carries none (no dedupe possible then). */
  randomId(): string;
}

export type Normalized = { message: IncomingMessage } | { drop: string };

/** Why a room's senders cannot be proved, and what fixes it (IncomingMessage sender.hiddenBecause). */
export const HIDDEN_JIDS =
  'the room is (semi-)anonymous, so it shows the bot nicknames only, and a nickname proves nothing. ' +
  'To fix it, make the room non-anonymous (room configuration: "Who may discover real JIDs" → anyone, ' +
  'muc#roomconfig_whois=anyone), or make the bot a moderator of the room (admin or owner)';

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Removes a leading `@nick`, `nick:` or `nick,` (any case); says whether one was there. */
export function stripMention(text: string, names: readonly string[]): { text: string; mentioned: boolean } {
  const trimmed = text.trim();
  for (const name of names) {
    if (name === '') continue;
    const pattern = new RegExp(
      `^(?:@${escapeRegExp(name)}(?=$|[\\s:,])[:,]?|${escapeRegExp(name)}[:,])`,
      'iu',
    );
    const found = pattern.exec(trimmed);
    if (found) return { text: trimmed.slice(found[0].length).trim(), mentioned: true };
  }
  return { text: trimmed, mentioned: false };
}

/**
 * The event id of a message, the same for every delivery of one stanza: the room or peer, the sender's
 * identity and the id the sender's client gave it (XEP-0359 origin-id, else the id attribute). A resend
 * by the sender's client (stream management) keeps that id, while a MUC archive gives the resend a new
 * `<stanza-id>`; so the room's stanza-id is used only when the sender gave no id at all.
 */
export function eventIdOf(stanza: Element, where: string, who: string, ctx: NormalizeContext): string {
  const origin = stanza.getChild('origin-id', NS.stanzaId)?.attrs.id ?? stanza.attrs.id;
  if (origin) return `${where}|${who}|${origin}`;
  const byRoom = stanza
    .getChildren('stanza-id', NS.stanzaId)
    .find((s) => bareJid(s.attrs.by) === where && s.attrs.id);
  if (byRoom?.attrs.id) return `${where}|sid|${byRoom.attrs.id}`;
  return `${where}|${who}|random:${ctx.randomId()}`;
}

/**
 * When a delayed delivery (XEP-0203 `urn:xmpp:delay`: offline storage, room history, a resend) says
 * the stanza was first sent, or undefined for a live one. A stamp that cannot be read counts as long ago.
 */
export function delayedSince(stanza: Element): number | undefined {
  // A stanza delayed twice (a client's resend put in offline storage) carries a stamp per hop: the earliest is the original.
  const stamps = stanza.getChildren('delay', NS.delay).map((delay) => {
    const stamp = Date.parse(delay.attrs.stamp ?? '');
    return Number.isNaN(stamp) ? 0 : stamp;
  });
  return stamps.length === 0 ? undefined : Math.min(...stamps);
}

/**
 * Turns a message stanza into an IncomingMessage, or says why it is not one. A delayed one is marked as
 * backlog (`away`) with its original time; whether it still runs is the pipeline's decision.
 */
export function normalizeMessage(stanza: Element, ctx: NormalizeContext): Normalized {
  const normalized = normalizeLive(stanza, ctx);
  const since = delayedSince(stanza);
  if ('drop' in normalized || since === undefined) return normalized;
  return {
    ...normalized,
    message: { ...normalized.message, sentAt: since, backlog: { kind: 'away', originalAt: since } },
  };
}

function normalizeLive(stanza: Element, ctx: NormalizeContext): Normalized {
  if (stanza.name !== 'message') return { drop: 'not a message' };
  const type = stanza.attrs.type ?? 'normal';
  if (type === 'error' || type === 'headline') return { drop: `type ${type}` };
  const from = splitJid(stanza.attrs.from);
  if (!from) return { drop: 'no sender' };
  const body = stanza.getChildText('body');
  if (body === null || body.trim() === '') return { drop: 'no body' };
  if (stanza.getChild('replace', NS.correct)) return { drop: 'a correction' };
  const room = ctx.room(from.bare);

  if (type === 'groupchat') {
    if (!room) return { drop: 'groupchat from no room of ours' };
    // Room history handed at the join comes marked delayed (then it is backlog); anything else before
    // the join completed cannot be placed in time.
    if (!room.live && delayedSince(stanza) === undefined)
      return { drop: 'before the join completed (history)' };
    if (from.resource === '') return { drop: 'from the room itself' };
    return fromOccupant(stanza, from.bare, from.resource, room, body, false, ctx);
  }
  if (room) {
    // A private message through the room (chat from room/nick): answered to that occupant JID.
    if (from.resource === '') return { drop: 'from the room itself' };
    if (!room.live) return { drop: 'private message before the join completed' };
    return fromOccupant(stanza, from.bare, from.resource, room, body, true, ctx);
  }
  const isSelf = from.bare === ctx.ownJid;
  const mention = stripMention(body, ctx.names);
  return {
    message: {
      eventId: eventIdOf(stanza, from.bare, from.bare, ctx),
      sender: { id: from.bare, displayName: from.bare, isBot: false, isSelf },
      target: { network: 'xmpp', room: from.bare, isDirect: true },
      text: mention.text,
      mentioned: mention.mentioned,
      sentAt: ctx.now,
    },
  };
}

function fromOccupant(
  stanza: Element,
  roomJid: string,
  nick: string,
  room: RoomView,
  body: string,
  isPrivate: boolean,
  ctx: NormalizeContext,
): Normalized {
  const occupantJid = `${roomJid}/${nick}`;
  const realJid = room.occupant(nick)?.realJid;
  const isSelf = nick === room.ownNick || realJid === ctx.ownJid;
  const id = realJid ?? occupantJid;
  const mention = stripMention(body, ctx.names);
  const hidden = realJid === undefined && !isSelf;
  return {
    message: {
      eventId: eventIdOf(stanza, roomJid, id, ctx),
      sender: {
        id,
        displayName: nick,
        isBot: false,
        isSelf,
        ...(hidden ? { hiddenBecause: HIDDEN_JIDS } : {}),
      },
      target: { network: 'xmpp', room: isPrivate ? occupantJid : roomJid, isDirect: isPrivate },
      text: mention.text,
      mentioned: mention.mentioned,
      sentAt: ctx.now,
    },
  };
}

/**
 * What a failed XEP-0410 self-ping says: `joined` (the occupant answered, or cannot answer pings),
 * `unknown` (the service is unreachable or slow: try again later), or `gone` (no longer an occupant).
 */
export function selfPingVerdict(condition: string | undefined): 'joined' | 'unknown' | 'gone' {
  if (condition === undefined) return 'unknown';
  if (condition === 'service-unavailable' || condition === 'feature-not-implemented') return 'joined';
  if (condition === 'remote-server-not-found' || condition === 'remote-server-timeout') return 'unknown';
  return 'gone';
}
