// The web console as a chat network: an action on a page (approve, deny, cancel, retry) becomes a
// direct message from the signed-in person to the bot, on network `web`, and goes through the same
// pipeline as chat (identify, authorize, approvals, audit). Each action gets a room of its own, so the
// replies the pipeline sends there are collected for that HTTP response. Holds no policy.
import { randomUUID } from 'node:crypto';
import { WEB_NETWORK } from '../people/identify.ts';
import type { AdapterLimits, ChatAdapter, ChatTarget, IncomingMessage, MessageRef, Reply } from '../types.ts';

export class WebAdapter implements ChatAdapter {
  readonly network = WEB_NETWORK;
  /** Status messages of jobs started from a page are not redrawn here: the pages are live already. */
  readonly limits: AdapterLimits = { canEdit: false, minEditIntervalMs: 60_000, maxMessageLength: 20_000 };
  readonly #collectors = new Map<string, Reply[]>();
  #sequence = 0;

  async start(_onMessage: (message: IncomingMessage) => Promise<void>): Promise<void> {}

  async stop(): Promise<void> {
    this.#collectors.clear();
  }

  /** A person's direct conversation on the web: nothing is kept there (approval requests go to chat). */
  directTarget(account: string): ChatTarget {
    return { network: this.network, room: `dm:${account}`, isDirect: true };
  }

  async send(target: ChatTarget, reply: Reply): Promise<MessageRef> {
    this.#collectors.get(target.room)?.push(reply);
    this.#sequence += 1;
    return { network: this.network, room: target.room, id: `w${this.#sequence}` };
  }

  async edit(_ref: MessageRef, _reply: Reply): Promise<void> {}

  /**
   * Runs `handle` with a message from `person` saying `text` in a room of its own, and returns what the
   * bot answered there.
   */
  async converse<T>(
    person: string,
    text: string,
    handle: (message: IncomingMessage) => Promise<T>,
  ): Promise<{ result: T; replies: Reply[] }> {
    const id = randomUUID();
    const room = `console-${id.slice(0, 8)}`;
    const replies: Reply[] = [];
    this.#collectors.set(room, replies);
    try {
      const result = await handle({
        eventId: `web-${id}`,
        sender: { id: person, displayName: person, isBot: false, isSelf: false },
        target: { network: this.network, room, isDirect: true },
        text,
        mentioned: false,
        sentAt: Date.now(),
      });
      return { result, replies };
    } finally {
      this.#collectors.delete(room);
    }
  }
}
