// From an SDK event to an IncomingMessage: the fields the adapter reads (rawOf), and the room's view of
// it (the bot's own names there, the sender's display name, whether it is a direct chat) handed to the
// pure normalizeEvent (events.ts), which takes identity from the sender's user id only.
import type { MatrixClient, MatrixEvent } from 'matrix-js-sdk';
import { type Normalized, normalizeEvent, type RawEvent } from './events.ts';

/** The fields of an SDK event the adapter reads, as a client event. */
export function rawOf(event: MatrixEvent): RawEvent {
  const eventId = event.getId();
  const sender = event.getSender();
  return {
    type: event.getType(),
    content: event.getContent(),
    ...(eventId ? { event_id: eventId } : {}),
    ...(sender ? { sender } : {}),
    origin_server_ts: event.getTs(),
  };
}

export interface TranslateOptions {
  /** The bot's user id. */
  userId: string;
  /** The name the pipeline answers to (`config.bot.name`). */
  botName: string;
  client(): MatrixClient | undefined;
  isDirect(roomId: string): Promise<boolean>;
}

/** Turns an event of a room into a message for the pipeline, or says why it is dropped. */
export function translator(o: TranslateOptions): (event: RawEvent, roomId: string) => Promise<Normalized> {
  return async (event, roomId) => {
    const own = o.userId;
    const room = o.client()?.getRoom(roomId) ?? undefined;
    const sender = event.sender;
    const ownNames = [room?.getMember(own)?.name, own.slice(1).split(':')[0], o.botName].filter(
      (n): n is string => typeof n === 'string' && n !== '',
    );
    const senderName = sender ? room?.getMember(sender)?.name : undefined;
    return normalizeEvent(event, {
      ownId: own,
      roomId,
      isDirect: await o.isDirect(roomId),
      senderName,
      ownNames,
    });
  };
}
