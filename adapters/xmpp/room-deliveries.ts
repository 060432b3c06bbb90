// A room's answer to a message the bot sent it. The server's stream-management acknowledgement only
// says the server has the stanza; the room itself may still refuse it, with an error bounced back under
// the same id: too many messages (`wait`/`policy-violation` from mod_muc_limits, `resource-constraint`),
// the bot no longer an occupant (`not-acceptable`, after the service restarted), no voice in a moderated
// room (`forbidden`). Such a message was never shown, so a send counted as done on the acknowledgement
// was lost in silence. A room that takes a message reflects it to every occupant, the sender included,
// with the same id (XEP-0045 §7.2.3), so a groupchat send waits for either: the reflection resolves it,
// a bounce fails it (retryable or not, as the error says, for the outbox to decide). A room that says
// nothing within `quietMs` is taken to have taken it, as the acknowledgement alone was before.
import type { Element } from '@xmpp/client';
import { SendFailure } from '../../src/chat/send-failure.ts';
import { NS } from './stanzas.ts';

/**
 * How long to wait after a room refused a message as too busy: the room says no time (mod_muc_limits'
 * error carries only a text), so the adapter picks one: a token's worth at that module's default rate.
 */
export const ROOM_BUSY_WAIT_MS = 2_000;

interface Pending {
  room: string;
  resolve(): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
}

/** The id a room message carries: its stanza id, or the XEP-0359 origin-id the room keeps. */
function idsOf(stanza: Element): string[] {
  const ids: string[] = [];
  if (stanza.attrs.id) ids.push(stanza.attrs.id);
  const origin = stanza.getChild('origin-id', NS.stanzaId)?.attrs.id;
  if (origin && origin !== stanza.attrs.id) ids.push(origin);
  return ids;
}

/**
 * What a bounced message's error means for sending it again: a busy room is a rate limit (waited out,
 * not counted as a failed try); a room the bot is out of, or any error of type `wait`, is worth another
 * try once the adapter rejoined; anything else (no voice, a message the room will never take) is not.
 */
export function bounceFailure(stanza: Element, room: string, busyWaitMs = ROOM_BUSY_WAIT_MS): SendFailure {
  const error = stanza.getChild('error');
  const type = error?.attrs.type ?? 'cancel';
  const condition = error?.getChildElements().find((c) => c.name !== 'text')?.name ?? 'undefined-condition';
  const text = error?.getChildText('text') ?? undefined;
  const said = `the room ${room} refused the message (${type}/${condition}${text ? `: ${text}` : ''})`;
  const platformCode = `xmpp_${condition}`;
  if (type === 'wait' && (condition === 'policy-violation' || condition === 'resource-constraint')) {
    return new SendFailure(said, { retryable: true, retryAfterMs: busyWaitMs, platformCode });
  }
  if (type === 'wait' || condition === 'not-acceptable' || condition === 'service-unavailable') {
    return new SendFailure(said, { retryable: true, platformCode });
  }
  return new SendFailure(said, { retryable: false, platformCode });
}

/** Groupchat messages sent and not yet reflected or refused by their room, by id. */
export class RoomDeliveries {
  readonly #pending = new Map<string, Pending>();
  readonly #quietMs: number;
  readonly #busyWaitMs: number;

  constructor(options: { quietMs?: number; busyWaitMs?: number } = {}) {
    this.#quietMs = options.quietMs ?? 10_000;
    this.#busyWaitMs = options.busyWaitMs ?? ROOM_BUSY_WAIT_MS;
  }

  /** How many wait for their room's answer. */
  get size(): number {
    return this.#pending.size;
  }

  /** Resolves when `room` reflects the message `id` (or says nothing for a while); rejects when it bounces it. */
  expect(id: string, room: string): Promise<void> {
    this.#settle(id, new SendFailure('sent again', { retryable: true, platformCode: 'superseded' }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(id, undefined), this.#quietMs);
      timer.unref();
      this.#pending.set(id, { room, resolve, reject, timer });
    });
  }

  /** The message never left: nothing to wait for. */
  forget(id: string): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pending.delete(id);
  }

  /** A groupchat message from `room`: one of the bot's own, reflected, settles its send. */
  reflected(room: string, stanza: Element): void {
    for (const id of idsOf(stanza)) {
      if (this.#pending.get(id)?.room === room) {
        this.#settle(id, undefined);
        return;
      }
    }
  }

  /** An error from `room`: true when it bounced a message waiting here (its send fails as the error says). */
  bounced(room: string, stanza: Element): boolean {
    for (const id of idsOf(stanza)) {
      if (this.#pending.get(id)?.room === room) {
        this.#settle(id, bounceFailure(stanza, room, this.#busyWaitMs));
        return true;
      }
    }
    return false;
  }

  /** The adapter stops: no room will answer any more. */
  failAll(): void {
    for (const id of [...this.#pending.keys()]) {
      this.#settle(
        id,
        new SendFailure('the XMPP adapter stopped', { retryable: false, platformCode: 'stopped' }),
      );
    }
  }

  #settle(id: string, error: SendFailure | undefined): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pending.delete(id);
    if (error) pending.reject(error);
    else pending.resolve();
  }
}
