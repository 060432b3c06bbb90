// How the approval desk and its sweeper reach people: a request sent directly to each person asked,
// on every network they have an account on; a line told to the room that asked; a request's messages
// with buttons rewritten to say how it ended. A failure to send is logged: the decision stands.
import type { Logger } from 'pino';
import { roomKey } from '../chat/chat-keys.ts';
import type { ChatTarget, Reply } from '../types.ts';
import { answerActions } from './approval-texts.ts';

export interface ApprovalNoticeOptions {
  /** Sends a message (room or direct). */
  send(target: ChatTarget, reply: Reply): Promise<unknown>;
  /** Direct-message targets of a person: one per network they have an account on that the bot is on. */
  directTargets(person: string): ChatTarget[];
  /** A request was answered, withdrawn or has expired: its messages with buttons now say `text` instead. */
  closed?(requestId: string, text: string): Promise<void>;
  log: Logger;
}

export class ApprovalNotices {
  readonly #o: ApprovalNoticeOptions;

  constructor(options: ApprovalNoticeOptions) {
    this.#o = options;
  }

  /** Sends `text` with the answer buttons of `requestId` directly to each person. */
  async ask(requestId: string, people: readonly string[], text: string): Promise<void> {
    for (const person of people) {
      for (const target of this.#o.directTargets(person)) {
        await this.#o
          .send(target, { tone: 'info', text, actions: answerActions(requestId) })
          .catch((error: unknown) =>
            this.#o.log.warn(
              { err: error, person, network: target.network },
              'could not send an approval request',
            ),
          );
      }
    }
  }

  /** Tells a room. */
  async tell(target: ChatTarget, text: string): Promise<void> {
    await this.#o
      .send(target, { tone: 'info', text })
      .catch((error: unknown) =>
        this.#o.log.warn({ err: error, room: roomKey(target) }, 'could not tell the room'),
      );
  }

  /** The request's messages with buttons say how it ended. */
  async closedWith(requestId: string, text: string): Promise<void> {
    await this.#o
      .closed?.(requestId, text)
      .catch((error: unknown) =>
        this.#o.log.warn({ err: error, request: requestId }, 'could not update the request’s messages'),
      );
  }
}
