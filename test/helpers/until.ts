// A poll with a deadline, for what a test must wait on that has no event of its own (a child process's
// output, a Redis count, a sentinel's view of the primary).

export interface UntilOptions {
  /** What is awaited, for the timeout error (a function is called only then, e.g. to show output). */
  what?: string | (() => string);
  /** Default 20 s. */
  timeoutMs?: number;
  /** Pause between checks; default 25 ms. */
  intervalMs?: number;
}

/**
 * Calls `check` until it returns something other than `undefined` or `false`, and returns that (so
 * `until(() => done)` waits for a condition, `until(async () => find())` for a value). An error thrown
 * by `check` ends the wait with that error. After `timeoutMs` it fails saying what was awaited.
 */
export async function until<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { what = 'a condition', timeoutMs = 20_000, intervalMs = 25 }: UntilOptions = {},
): Promise<Exclude<T, undefined | false>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as Exclude<T, undefined | false>;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
