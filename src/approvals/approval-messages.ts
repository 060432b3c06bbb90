// The messages that carry an approval request's buttons (the request in its room, and each
// approver's direct message), kept in Redis by request id, so that once the request is answered,
// withdrawn or expired, every one of them is edited to say so, without buttons, by whichever bot
// instance closed it.
import type { Redis } from 'ioredis';
import type { MessageRef, Reply } from '../types.ts';

/** How long the references are kept: longer than any request stays open. */
const KEEP_MS = 7 * 24 * 3600_000;

/** The request id a reply's buttons answer (`approve <id>`), if it has them. */
export function requestOfReply(reply: Reply): string | undefined {
  for (const action of reply.actions ?? []) {
    const id = /^approve (\S+)$/.exec(action.command)?.[1];
    if (id) return id;
  }
  return undefined;
}

export class ApprovalMessages {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #key(requestId: string): string {
    return `${this.#prefix}:approval-messages:${requestId}`;
  }

  /** Notes a message that carries the buttons of a request. */
  async record(requestId: string, ref: MessageRef): Promise<void> {
    await this.#redis
      .multi()
      .rpush(this.#key(requestId), JSON.stringify(ref))
      .pexpire(this.#key(requestId), KEEP_MS)
      .exec();
  }

  /** Takes every message of a request (once: a second call finds none). */
  async take(requestId: string): Promise<MessageRef[]> {
    const [[, raw] = [null, []]] =
      ((await this.#redis.multi().lrange(this.#key(requestId), 0, -1).del(this.#key(requestId)).exec()) as
        | [Error | null, string[]][]
        | null) ?? [];
    return (raw ?? []).map((r) => JSON.parse(r) as MessageRef);
  }
}
