// Starts the web console as the config's `web` section says, for local and bot mode (run-bot.ts): nothing when disabled;
// in local mode a busy port falls back to any free one (several local vmops may run on one machine).
// The console's code (fastify and its plugins) is imported only when it is enabled.
import { VmopsError } from '../errors.ts';
import type { WebConsole, WebConsoleOptions } from '../web/server.ts';

export async function startWebConsoleFromConfig(
  options: Omit<WebConsoleOptions, 'host' | 'port'> & { fallbackPort: boolean },
): Promise<WebConsole | undefined> {
  const { web } = options.config;
  if (!web.enabled) return undefined;
  const { startWebConsole } = await import('../web/server.ts');
  const { fallbackPort, ...rest } = options;
  try {
    return await startWebConsole({ ...rest, host: web.host, port: web.port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    if (!fallbackPort) {
      throw new VmopsError(
        'config_invalid',
        `web console: ${web.host}:${web.port} is already in use (web.port); choose another port, or set web.enabled: false`,
      );
    }
    options.log.warn({ port: web.port }, 'web console: the port is busy; listening on a free one instead');
    return startWebConsole({ ...rest, host: web.host, port: 0 });
  }
}
