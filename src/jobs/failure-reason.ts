// A failed job's reason carries its error code: `[step_failed] step 2/3 convert failed with exit code 3`.
// Workers write it; views read it back (a cancelled job is a failed BullMQ job with code `cancelled`).
import type { ErrorCode } from '../errors.ts';

export function encodeFailure(code: ErrorCode, message: string): string {
  return `[${code}] ${message}`;
}

export function decodeFailure(reason: string | undefined): { code: string; message: string } {
  const match = /^\[([a-z_]+)\] ([\s\S]*)$/.exec(reason ?? '');
  if (match?.[1] !== undefined && match[2] !== undefined) return { code: match[1], message: match[2] };
  return { code: 'internal_error', message: reason ?? 'unknown failure' };
}
