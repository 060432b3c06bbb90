// Comparing a secret someone sent (a CSRF token, a bearer token) with the one expected, in constant
// time. The lengths compared are byte lengths: a string of the right length in characters may still be
// longer in UTF-8 (`é` is two bytes), and timingSafeEqual throws on buffers of different lengths.
import { timingSafeEqual } from 'node:crypto';

/** `given` is a string equal to `expected`, compared without leaking where they differ. */
export function equalSecret(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
