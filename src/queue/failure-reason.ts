// A failed job's reason carries its error code: `[step_failed] step 2/3 convert failed with exit code 3`.
// Workers write it; views read it back (a cancelled job is a failed BullMQ job with code `cancelled`).
import type { ErrorCode } from '../errors.ts';

export function encodeFailure(code: ErrorCode, message: string): string {
  return `[${code}] ${message}`;
}

/** BullMQ's reason for a job whose worker stopped renewing its lock more often than maxStalledCount allows. */
const STALLED = 'job stalled more than allowable limit';

/** Reads a failed job's reason; `worker` names the worker that ran it, for a job whose worker vanished. */
export function decodeFailure(
  reason: string | undefined,
  worker?: string,
): { code: string; message: string } {
  if (reason === STALLED) {
    return {
      code: 'worker_lost',
      message: `its worker${worker ? ` ${worker}` : ''} stopped answering while it ran (killed, hung or cut off from Redis), and jobs.attempts allows no further run`,
    };
  }
  const match = /^\[([a-z_]+)\] ([\s\S]*)$/.exec(reason ?? '');
  if (match?.[1] !== undefined && match[2] !== undefined) return { code: match[1], message: match[2] };
  return { code: 'internal_error', message: reason ?? 'unknown failure' };
}
