// Incoming XMPP stanzas as the pipeline sees them: a room's messages, subjects, configuration changes
// and errors told apart; a message normalised into an IncomingMessage (identity from real JIDs only,
// see stanzas.ts) and handed over one at a time, in the order it arrived. A sender whose real JID the
// room hides is only marked (sender.hiddenBecause); the pipeline refuses and tells the room.
import { randomUUID } from 'node:crypto';
import type { Element } from '@xmpp/client';
import type { Logger } from 'pino';
import type { IncomingMessage } from '../../src/types.ts';
import type { RoomDeliveries } from './room-deliveries.ts';
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
  /** The bot's room messages waiting for their room's answer (reflection or bounce). */
  deliveries: RoomDeliveries;
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
    o.deliveries.bounced(room.jid, stanza);
    o.membership.roomError(room, stanza);
    return;
  }
  if (room && stanza.attrs.type === 'groupchat' && from?.resource === room.ownNick) {
    o.deliveries.reflected(room.jid, stanza);
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
  o.deliver(normalized.message);
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
