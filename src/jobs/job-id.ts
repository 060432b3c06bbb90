// Job ids people type: eight base-32 characters derived from the chat event, so a redelivered event
// maps to the same id and adds nothing; a suffix names the format or cloud when a command makes several.
import { createHash } from 'node:crypto';

const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789'; // no l, o, 0, 1: easy to read back from a phone

export function jobBaseId(eventKey: string, length = 8): string {
  const digest = createHash('sha256').update(eventKey).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[(digest[i] ?? 0) % 32];
  return out;
}

export function jobId(base: string, suffix: string | undefined): string {
  return suffix ? `${base}-${suffix}` : base;
}
