// Sending to a chat network, again after a failure: the notifier and the lifecycle announcer both
// retry a send or edit a few times with doubling waits, or after the `retryAfterMs` a rate-limited
// network asked for. No wait follows the last attempt.
import { setTimeout as sleep } from 'node:timers/promises';

export interface SendRetryOptions {
  /** Tries in all (default 5). */
  attempts?: number;
  /** First wait (ms), doubling each time, when the error names none (default 250). */
  baseMs?: number;
  /** Stop trying (shutting down): the last error is thrown at once. */
  stopped?: () => boolean;
}

export async function sendWithRetries<T>(send: () => Promise<T>, options: SendRetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (attempt >= attempts || options.stopped?.()) throw error;
      const retryAfter = (error as { retryAfterMs?: number }).retryAfterMs;
      await sleep(retryAfter ?? (options.baseMs ?? 250) * 2 ** (attempt - 1));
    }
  }
}
