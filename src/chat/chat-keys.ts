// The strings that name a room, an account and a chat event in Redis, logs and the audit trail.
// They are stored and hashed into the audit chain, so every part must build them the same way.
import type { ChatTarget, IncomingMessage, Principal } from '../types.ts';

/** A room: `network:room`. */
export function roomKey(target: Pick<ChatTarget, 'network' | 'room'>): string {
  return `${target.network}:${target.room}`;
}

/** The account a person spoke from: `network:account`. */
export function accountKey(principal: Pick<Principal, 'account'>): string {
  return `${principal.account.network}:${principal.account.id}`;
}

/** A chat event, unique across networks: `network:eventId` (job ids and trace ids derive from it). */
export function eventKey(message: Pick<IncomingMessage, 'target' | 'eventId'>): string {
  return `${message.target.network}:${message.eventId}`;
}
