// JSON over HTTP for the cloud drivers, with a timeout, and every failure turned into a CloudError
// that names the cloud, what was being done and what the cloud said (never a secret: headers and
// request bodies are not part of the message).
import { CloudError } from './cloud-driver.ts';

export interface HttpCallOptions {
  cloud: string;
  /** What is being done, for the error: `create the image`, `list images`. */
  doing: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal: AbortSignal;
  /** Statuses that are not errors besides 2xx (e.g. 404 when looking something up). */
  accept?: readonly number[];
}

/** What the cloud said, cut to one short line. */
export function shortBody(text: string): string {
  const plain = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > 200 ? `${plain.slice(0, 200)}…` : plain;
}

/** Why a request could not be made at all, in words. */
export function networkReason(error: unknown, timeoutMs: number): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if ((error as Error).name === 'TimeoutError') return `no answer within ${timeoutMs / 1000}s`;
  if (cause?.code !== undefined) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return (error as Error).message;
}

export async function httpCall(url: string, options: HttpCallOptions): Promise<Response> {
  let response: Response;
  try {
    const init: RequestInit = {
      method: options.method ?? 'GET',
      headers: options.headers ?? {},
      signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
    };
    if (options.body !== undefined) init.body = options.body;
    response = await fetch(url, init);
  } catch (error) {
    if (options.signal.aborted) throw error;
    const where = new URL(url).origin;
    throw new CloudError(
      options.cloud,
      `could not ${options.doing}: ${where} did not answer: ${networkReason(error, options.timeoutMs)}`,
      { transient: true, cause: error },
    );
  }
  if (response.ok || options.accept?.includes(response.status)) return response;
  const text = shortBody(await response.text().catch(() => ''));
  const credentials =
    response.status === 401 || response.status === 403 ? ' (are the credentials right?)' : '';
  throw new CloudError(
    options.cloud,
    `could not ${options.doing}: HTTP ${response.status} ${response.statusText}${credentials}${text ? `: ${text}` : ''}`,
    { status: response.status, transient: response.status >= 500 || response.status === 429 },
  );
}
