// CSRF protection: a synchronizer token per session, which every POST must carry (forms in the field
// `_csrf`, scripts in the header `x-csrf-token`), compared in constant time (secret-compare.ts).
// Requests a browser marks as cross-site (Sec-Fetch-Site) are refused before that.
import { type Html, html } from './html.ts';

export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** The hidden form field that carries a session's CSRF token. */
export function csrfInput(token: string): Html {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${token}">`;
}

/** The token a request carries, from the form body or the header. */
export function tokenOf(body: unknown, headers: Record<string, string | string[] | undefined>): unknown {
  const header = headers[CSRF_HEADER];
  if (typeof header === 'string') return header;
  return typeof body === 'object' && body !== null
    ? (body as Record<string, unknown>)[CSRF_FIELD]
    : undefined;
}

/** A browser said the request comes from another site (a form or script elsewhere). */
export function crossSite(headers: Record<string, string | string[] | undefined>): boolean {
  return headers['sec-fetch-site'] === 'cross-site';
}
