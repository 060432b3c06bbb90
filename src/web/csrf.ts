// CSRF protection: a synchronizer token per session, which every POST must carry (forms in the field
// `_csrf`, scripts in the header `x-csrf-token`), compared in constant time. Requests a browser marks as
// cross-site (Sec-Fetch-Site) are refused before that.
import { timingSafeEqual } from 'node:crypto';

export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export function sameToken(expected: string, given: unknown): boolean {
  if (typeof given !== 'string' || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected), Buffer.from(given));
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
