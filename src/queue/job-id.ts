// Job ids people type: eight base-32 characters derived from the chat event, so a redelivered event
// maps to the same id and adds nothing; a suffix names the format or cloud when a command makes several.
import { hash } from 'node:crypto';

const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789'; // no l, o, 0, 1: easy to read back from a phone

/**
 * What the grammar accepts as a job id (matched against the lower-cased word): letters and digits, then
 * `-` and the format, cloud or number that tells apart the jobs of one command (`abcd2345-lxplus-cloud`),
 * then the `x`s an id gets when another event already holds it (`abcd2345-kvmx`). Looser than the
 * alphabet above, so a mistyped id is answered "no job" rather than "not a job id".
 */
export const JOB_ID_PATTERN = /^[a-z0-9]{4,40}(?:-[a-z0-9][a-z0-9_-]{0,40})?x*$/;

export function jobBaseId(eventKey: string, length = 8): string {
  const digest = hash('sha256', eventKey, 'buffer');
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[(digest[i] ?? 0) % 32];
  return out;
}

export function jobId(base: string, suffix: string | undefined): string {
  return suffix ? `${base}-${suffix}` : base;
}
