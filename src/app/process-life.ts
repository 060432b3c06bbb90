// The life of a vmops process, shared by its modes: signals asking it to stop, and the outcomes of
// parts started side by side.

/**
 * SIGINT and SIGTERM: the first asks for a graceful stop (`requested` resolves); once stopping, any
 * further signal calls `whileStopping` (cancel the running jobs).
 */
export function watchSignals(whileStopping: () => void): { requested: Promise<string>; stopping(): void } {
  let stopping = false;
  let resolveRequested: (signal: string) => void = () => undefined;
  const requested = new Promise<string>((resolve) => {
    resolveRequested = resolve;
  });
  const handler = (signal: string) => {
    if (stopping) whileStopping();
    stopping = true;
    resolveRequested(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    requested,
    stopping: () => {
      stopping = true;
    },
  };
}

/** The value of a settled promise, or undefined when it was rejected. */
export function settledValue<T>(result: PromiseSettledResult<T>): T | undefined {
  return result.status === 'fulfilled' ? result.value : undefined;
}

/** The value of a settled promise; throws its reason when it was rejected. */
export function fulfilled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}
