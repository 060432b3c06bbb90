// What a failed send means, as matrix-js-sdk reports it, in the outbox's terms: a rate limit
// (429 M_LIMIT_EXCEEDED with retry_after_ms), a passing failure worth another try with the same
// transaction id (5xx, no answer: the homeserver stores one event per txnId, so a retry never posts
// twice), or a refusal the same request will get again (M_FORBIDDEN, M_UNKNOWN_TOKEN, M_TOO_LARGE…).
import { SendFailure } from '../../src/chat/send-failure.ts';

interface MatrixFailure {
  errcode?: string;
  httpStatus?: number;
  name?: string;
  message?: string;
  isRateLimitError?: () => boolean;
  getRetryAfterMs?: () => number | null;
}

export function asSendFailure(error: unknown): SendFailure {
  if (error instanceof SendFailure) return error;
  const failure = (error ?? {}) as MatrixFailure;
  const code =
    failure.errcode ?? (failure.httpStatus ? `http_${failure.httpStatus}` : (failure.name ?? 'unknown'));
  const message = `matrix send failed: ${code}`;
  if (failure.errcode === 'M_LIMIT_EXCEEDED' || failure.isRateLimitError?.() === true) {
    let retryAfterMs = 1000;
    try {
      retryAfterMs = failure.getRetryAfterMs?.() ?? 1000;
    } catch {
      // a 429 without a usable retry_after_ms: a second is what Synapse usually asks
    }
    return new SendFailure(message, { retryable: true, retryAfterMs, platformCode: code }, { cause: error });
  }
  const retryable =
    failure.name === 'ConnectionError' ||
    failure.name === 'AbortError' ||
    failure.name === 'TimeoutError' ||
    (failure.httpStatus !== undefined && failure.httpStatus >= 500);
  return new SendFailure(message, { retryable, platformCode: code }, { cause: error });
}
