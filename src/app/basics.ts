// What every mode of vmops loads first, and the log level.

/**
 * What every mode needs first: the config, the logger, the Redis settings. Imported dynamically, like
 * everything else that is not small, so that it loads once the compile cache is on (see src/main.ts).
 */
export async function loadBasics() {
  const [configLoad, logger, connect, pino] = await Promise.all([
    import('./config-load.ts'),
    import('../observability/logger.ts'),
    import('../redis/connect.ts'),
    import('pino'),
  ]);
  return { ...configLoad, ...logger, ...connect, pino: pino.default };
}

export type Basics = Awaited<ReturnType<typeof loadBasics>>;

/** The log level: VMOPS_LOG_LEVEL, or info. */
export function logLevel(): string {
  return process.env.VMOPS_LOG_LEVEL || 'info';
}
