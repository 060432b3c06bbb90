// Incoming XMPP stanzas as the pipeline sees them: a room's messages, subjects, configuration changes
// and errors told apart; a message normalised into an IncomingMessage (identity from real JIDs only,
// see stanzas.ts) and handed over one at a time, in the order it arrived. A command said in a room
// that hides real JIDs gets the room one notice of why it is refused.
import { randomUUID } from 'node:crypto';
import type { Element } from '@xmpp/client';
import type { Logger } from 'pino';
import { commandText } from '../../src/grammar/addressing.ts';
import type { IncomingMessage } from '../../src/types.ts';
import type { RoomMembership } from './room-membership.ts';
import type { MucRoom } from './rooms.ts';
import { type NormalizeContext, NS, normalizeMessage, splitJid } from './stanzas.ts';

export interface InboundOptions {
  /** The bot's bare JID. */
  ownJid: string;
  /** The nick the bot wants in every room. */
  nick: string;
  /** The name the pipeline answers to. */
  botName: string;
  rooms: ReadonlyMap<string, MucRoom>;
  membership: RoomMembership;
  /** Tells a room something (the anonymity notice). */
  tell(room: string, text: string): void;
  /** Hands a message to the pipeline (in order). */
  deliver(message: IncomingMessage): void;
  log: Logger;
  now: () => number;
}

/** Reads one stanza that is not a presence. */
export function readMessageStanza(stanza: Element, o: InboundOptions): void {
  if (stanza.name !== 'message') return;
  const from = splitJid(stanza.attrs.from);
  const room = from ? o.rooms.get(from.bare) : undefined;
  if (room && stanza.attrs.type === 'error') {
    o.membership.roomError(room, stanza);
    return;
  }
  if (
    room &&
    stanza.attrs.type === 'groupchat' &&
    stanza.getChild('subject') &&
    stanza.getChildText('body') === null
  ) {
    o.membership.subject(room);
    return;
  }
  if (room && from?.resource === '' && stanza.attrs.type === 'groupchat') {
    const statuses = stanza
      .getChild('x', NS.mucUser)
      ?.getChildren('status')
      .map((s) => Number(s.attrs.code));
    if (statuses && statuses.length > 0) room.configurationChanged(new Set(statuses));
    return;
  }
  const normalized = normalizeMessage(stanza, context(o));
  if ('drop' in normalized) {
    if (stanza.getChildText('body') !== null)
      o.log.debug({ from: stanza.attrs.from, reason: normalized.drop }, 'xmpp message dropped');
    return;
  }
  const { message, anonymous } = normalized;
  if (anonymous && room && !room.anonymityNoticeSent && commandText(message, o.botName) !== undefined) {
    room.anonymityNoticeSent = true;
    o.tell(room.jid, anonymityNotice(room.jid, o.botName));
  }
  o.deliver(message);
}

function context(o: InboundOptions): NormalizeContext {
  // The bot answers to the nick it has in each room, the fallback one too when its own was taken.
  const nicks = [...o.rooms.values()].map((r) => r.ownNick);
  const names = [...new Set([o.nick, o.botName, ...nicks])];
  return {
    ownJid: o.ownJid,
    room: (bare) => o.rooms.get(bare),
    names,
    now: o.now(),
    randomId: () => randomUUID(),
  };
}

/** What the room is told, once, when a command comes from someone whose real JID it hides. */
function anonymityNotice(room: string, botName: string): string {
  return (
    `${botName} cannot see the real JIDs of the people in ${room}: the room is (semi-)anonymous, so a nickname ` +
    `is all ${botName} would know, and a nickname proves nothing. Every command said here is treated as ` +
    `coming from a guest and refused. To fix it, make the room non-anonymous (room configuration: ` +
    `"Who may discover real JIDs" → anyone, muc#roomconfig_whois=anyone), or make ${botName} a moderator ` +
    `of the room (admin or owner). Direct messages to ${botName} work meanwhile.`
  );
}
