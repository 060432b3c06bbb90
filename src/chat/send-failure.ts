// What a chat adapter throws when one send or edit fails: the platform's own error, translated into
// the two facts the outbox needs to decide alone whether to try again: is it worth another try
// (rate limit, server error, connection lost before an answer) and how long the platform asked to
// wait (Slack's Retry-After, Matrix's retry_after_ms). Adapters only translate; the outbox decides.
import { VmopsError } from '../errors.ts';

export class SendFailure extends VmopsError {
  /** The platform says (or the transport shows) that the same request may succeed later. */
  readonly retryable: boolean;
  /** How long the platform asked to wait before the next request (ms), for a rate limit. */
  readonly retryAfterMs: number | undefined;
  /** The platform's error name (`message_not_found`, `M_FORBIDDEN`, `http_502`…), for logs and tests. */
  readonly platformCode: string;

  constructor(
    message: string,
    facts: { retryable: boolean; retryAfterMs?: number; platformCode: string },
    options?: ErrorOptions,
  ) {
    super(
      'send_failed',
      message,
      {
        platformCode: facts.platformCode,
        retryable: facts.retryable,
        ...(facts.retryAfterMs === undefined ? {} : { retryAfterMs: facts.retryAfterMs }),
      },
      options,
    );
    this.retryable = facts.retryable;
    this.retryAfterMs = facts.retryAfterMs;
    this.platformCode = facts.platformCode;
  }
}

/** A rate limit: the platform refused for now and said how long to wait. */
export function isRateLimit(error: unknown): error is SendFailure & { retryAfterMs: number } {
  return error instanceof SendFailure && error.retryAfterMs !== undefined;
}

/** Worth another try, by the adapter's word; anything else an adapter throws is not. */
export function isRetryable(error: unknown): boolean {
  return error instanceof SendFailure && error.retryable;
}
