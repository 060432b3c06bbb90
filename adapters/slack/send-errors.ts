// What a failed Web API call means, as @slack/web-api reports it, in the outbox's terms: a rate limit
// (HTTP 429 with Retry-After, seconds), a passing failure worth another try (the request did not get
// an answer, a 5xx, Slack's own internal errors), or a refusal that the same call will get again
// (`message_not_found`, `channel_not_found`, `cant_update_message`, `msg_too_long`, …).
import { SendFailure } from '../../src/chat/send-failure.ts';

/** What a call fails with, as @slack/web-api reports it. */
interface CallFailure {
  code?: string;
  retryAfter?: number;
  statusCode?: number;
  data?: { error?: string };
  message?: string;
}

/** Slack platform errors that say: try again later. */
const TRANSIENT_PLATFORM = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'ratelimited',
]);

export function isTransient(error: unknown): boolean {
  const failure = error as CallFailure | undefined;
  if (failure?.code === 'slack_webapi_request_error') return true;
  if (failure?.code === 'slack_webapi_http_error') return (failure.statusCode ?? 500) >= 500;
  if (failure?.code === 'slack_webapi_platform_error')
    return TRANSIENT_PLATFORM.has(failure.data?.error ?? '');
  return false;
}

/** The platform's name for the failure. */
function platformCode(failure: CallFailure | undefined): string {
  if (failure?.data?.error) return failure.data.error;
  if (failure?.code === 'slack_webapi_http_error') return `http_${failure.statusCode ?? 'error'}`;
  if (failure?.code === 'slack_webapi_rate_limited_error') return 'ratelimited';
  return failure?.code ?? 'unknown';
}

export function asSendFailure(method: string, error: unknown): SendFailure {
  if (error instanceof SendFailure) return error;
  const failure = error as CallFailure | undefined;
  const code = platformCode(failure);
  const message = `slack ${method} failed: ${code}`;
  if (failure?.code === 'slack_webapi_rate_limited_error' && typeof failure.retryAfter === 'number') {
    return new SendFailure(
      message,
      { retryable: true, retryAfterMs: Math.max(0, failure.retryAfter) * 1000, platformCode: code },
      { cause: error },
    );
  }
  return new SendFailure(message, { retryable: isTransient(error), platformCode: code }, { cause: error });
}
