// A chat network for tests: implements ChatAdapter, records every message and edit, and lets a test
// deliver messages as any account. Exposes handles to wait on what a room would see.
import { EventEmitter } from 'node:events';
import type {
  AdapterLimits,
  ChatAdapter,
  ChatTarget,
  IncomingMessage,
  MessageRef,
  Reply,
} from '../../src/types.ts';

export interface SentMessage {
  ref: MessageRef;
  target: ChatTarget;
  /** Every version of the message, first the original, then each edit. */
  versions: Reply[];
  /** When each version arrived (ms since epoch). */
  times: number[];
}

export class FakeChat extends EventEmitter<{ change: [] }> implements ChatAdapter {
  readonly network: string;
  readonly limits: AdapterLimits;
  readonly sent: SentMessage[] = [];
  /** Every edit asked of this adapter, including those of messages it never sent. */
  editAttempts = 0;
  /** What `connected()` answers (readiness tests set it to false). */
  isConnected = true;
  #onMessage: ((message: IncomingMessage) => Promise<void>) | undefined;
  #next = 0;

  constructor(network = 'fake', limits: Partial<AdapterLimits> = {}) {
    super();
    this.network = network;
    this.limits = { canEdit: true, minEditIntervalMs: 20, maxMessageLength: 4000, ...limits };
  }

  async start(onMessage: (message: IncomingMessage) => Promise<void>): Promise<void> {
    this.#onMessage = onMessage;
  }

  /** Delivers a message as the network would, and waits until the bot has handled it. */
  async deliver(message: IncomingMessage): Promise<void> {
    if (!this.#onMessage) throw new Error('the adapter is not started');
    await this.#onMessage(message);
  }

  async stop(): Promise<void> {
    this.#onMessage = undefined;
  }

  directTarget(account: string): ChatTarget {
    return { network: this.network, room: `dm:${account}`, isDirect: true };
  }

  connected(): boolean {
    return this.isConnected;
  }

  async send(target: ChatTarget, reply: Reply): Promise<MessageRef> {
    this.#next += 1;
    const ref = { network: this.network, room: target.room, id: `m${this.#next}` };
    this.sent.push({ ref, target, versions: [reply], times: [Date.now()] });
    this.emit('change');
    return ref;
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    this.editAttempts += 1;
    const message = this.sent.find((m) => m.ref.id === ref.id);
    if (!message) throw new Error(`edit of unknown message ${ref.id}`);
    message.versions.push(reply);
    message.times.push(Date.now());
    this.emit('change');
  }

  /** Latest text of every message, in order. */
  texts(): string[] {
    return this.sent.map((m) => m.versions.at(-1)?.text ?? '');
  }

  /** Resolves with the first message whose latest version matches. */
  waitFor(predicate: (message: SentMessage) => boolean, timeoutMs = 15_000): Promise<SentMessage> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.sent.find(predicate);
        if (!found) return false;
        this.off('change', check);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.off('change', check);
        reject(new Error(`timed out; messages so far:\n${this.texts().join('\n')}`));
      }, timeoutMs);
      if (!check()) this.on('change', check);
    });
  }
}

let counter = 0;

/** A message as an adapter would deliver it; override any field. */
export function message(
  text: string,
  overrides: Partial<IncomingMessage> & { account?: string } = {},
): IncomingMessage {
  counter += 1;
  const { account, ...rest } = overrides;
  return {
    eventId: `ev-${process.pid}-${Date.now()}-${counter}`,
    sender: { id: account ?? 'alice', displayName: account ?? 'alice', isBot: false, isSelf: false },
    target: { network: 'fake', room: 'room1', isDirect: true },
    text,
    mentioned: false,
    sentAt: Date.now(),
    ...rest,
  };
}
