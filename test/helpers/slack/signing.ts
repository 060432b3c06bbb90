// Signed requests to an Events API endpoint (HTTP mode), as Slack signs them.
import { createHmac } from 'node:crypto';

/** `x-slack-signature` for a body, as Slack computes it. */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** POSTs a body to an Events API endpoint, signed with `secret` (or not, or wrongly). */
export async function postSigned(
  url: string,
  secret: string,
  body: string,
  options: { contentType?: string; timestamp?: number; signature?: string } = {},
): Promise<{ status: number; body: string }> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/json',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': options.signature ?? slackSignature(secret, timestamp, body),
    },
    body,
  });
  return { status: response.status, body: await response.text() };
}
