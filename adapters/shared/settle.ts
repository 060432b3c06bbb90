/**
 * Waits for `promise` to settle, or for `ms` to pass, whichever comes first. Never rejects: a rejection
 * counts as settled, so a bounded wait during shutdown cannot turn into an error.
 */
export function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
