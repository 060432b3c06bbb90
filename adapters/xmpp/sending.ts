// Sending one message or correction on XMPP, once: the outbox (src/outbox/) queues, waits for the
// connection and the room, merges pending corrections of one message and tries again; nothing here
// does. A Reply becomes a <message> stanza: groupchat in a room, chat to a person, or a private
// message to a room occupant; a XEP-0308 correction names the first message's id. The stanza's id and
// origin-id are the outbox's transaction id, so every try of one message carries the same. Under
// stream management (XEP-0198) a send resolves once the server acknowledged the stanza: one sent on a
// session that was lost and could not be resumed fails as retryable, and the outbox sends it again. A
// room message then waits for the room's own answer (room-deliveries.ts).
import { type Client, type Element, xml } from '@xmpp/client';
import { SendFailure } from '../../src/chat/send-failure.ts';
import { NS, splitJid } from './stanzas.ts';

/** A message on its way. */
export interface Outgoing {
  /** Stanza id and origin-id (the outbox's transaction id). */
  id: string;
  to: string;
  type: 'groupchat' | 'chat';
  body: string;
  /** Id of the first message this one corrects (XEP-0308). */
  replaces?: string;
  /** The configured room the message needs the bot to be in (groupchat and private messages). */
  room?: string;
  /** A private message to a room occupant. */
  privateInRoom: boolean;
}

/** Where a message to `to` goes: a groupchat, a private message to an occupant, or a chat with a person. */
export function outgoing(
  to: string,
  groupchat: boolean,
  id: string,
  body: string,
  isRoom: (bare: string) => boolean,
): Outgoing {
  const parts = splitJid(to);
  const bare = parts?.bare ?? to;
  const inRoom = isRoom(bare);
  if (groupchat) {
    return { id, to: bare, type: 'groupchat', body, ...(inRoom ? { room: bare } : {}), privateInRoom: false };
  }
  const privateInRoom = inRoom && parts !== undefined && parts.resource !== '';
  return {
    id,
    to: privateInRoom ? to : bare,
    type: 'chat',
    body,
    ...(privateInRoom ? { room: bare } : {}),
    privateInRoom,
  };
}

export function messageStanza(message: Outgoing): Element {
  return xml(
    'message',
    { to: message.to, type: message.type, id: message.id },
    xml('body', {}, message.body),
    message.replaces ? xml('replace', { xmlns: NS.correct, id: message.replaces }) : undefined,
    message.privateInRoom ? xml('x', { xmlns: NS.mucUser }) : undefined,
    xml('origin-id', { xmlns: NS.stanzaId, id: message.id }),
  );
}

/** Not sent now, worth another try once the connection (or the room) is back. */
export function notSendable(why: string, platformCode: string, cause?: unknown): SendFailure {
  return new SendFailure(why, { retryable: true, platformCode }, cause === undefined ? undefined : { cause });
}

interface Pending {
  resolve(): void;
  reject(error: unknown): void;
}

/** Stanzas sent under stream management that wait for the server's acknowledgement, by id. */
export class Acknowledgements {
  readonly #pending = new Map<string, Pending>();

  constructor(xmpp: Client) {
    const sm = xmpp.streamManagement;
    sm.on('ack', (stanza: Element) => this.#settle(stanza.attrs.id, undefined));
    sm.on('fail', (stanza: Element) =>
      this.#settle(
        stanza.attrs.id,
        notSendable(
          'the XMPP session was lost before the server acknowledged the message',
          'not_acknowledged',
        ),
      ),
    );
  }

  /** Resolves when the server acknowledges the stanza `id`; rejects when the session was lost first. */
  expect(id: string): Promise<void> {
    this.#pending.get(id)?.reject(notSendable('sent again', 'superseded'));
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  /** The stanza never left: nothing to wait for. */
  forget(id: string): void {
    this.#pending.delete(id);
  }

  /** The adapter stops: nothing will be acknowledged any more. */
  failAll(): void {
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(
        new SendFailure('the XMPP adapter stopped', { retryable: false, platformCode: 'stopped' }),
      );
    }
  }

  #settle(id: string | undefined, error: SendFailure | undefined): void {
    const pending = id === undefined ? undefined : this.#pending.get(id);
    if (!pending || id === undefined) return;
    this.#pending.delete(id);
    if (error) pending.reject(error);
    else pending.resolve();
  }
}

/** Waits for rooms to become sendable; `check()` after anything that may have changed it. */
export class SendableGate {
  readonly #sendable: (room: string) => boolean;
  readonly #waiting = new Set<() => void>();

  constructor(sendable: (room: string) => boolean) {
    this.#sendable = sendable;
  }

  when(room: string): Promise<void> {
    if (this.#sendable(room)) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!this.#sendable(room)) return;
        this.#waiting.delete(check);
        resolve();
      };
      this.#waiting.add(check);
    });
  }

  check(): void {
    for (const check of [...this.#waiting]) check();
  }
}
