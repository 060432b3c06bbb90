// Creates the root pino logger. It is passed to every part that logs (never imported as a global);
// parts make child loggers carrying adapter, person, command and jobId. Secrets are redacted by path.
import pino, { type DestinationStream, type Logger } from 'pino';

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  '*.token',
  '*.appToken',
  '*.botToken',
  '*.accessToken',
  '*.password',
  '*.secret',
  '*.signingSecret',
  '*.privateKey',
  '*.passphrase',
  '*.metricsToken',
  '*.sentinelPassword',
  '*.clientSecret',
  '*.secretAccessKey',
  '*.sessionToken',
  '*.VMOPS_CLOUD_SETTINGS',
  'config.clouds.*.token',
  'config.clouds.*.secretAccessKey',
  'config.clouds.*.sessionToken',
  'config.clouds.*.keystone.password',
  '*.cookie',
  'headers.cookie',
  '*.headers.cookie',
  'headers.authorization',
  '*.headers.authorization',
  'config.redis.url',
  'config.redis.sentinel.password',
  'config.redis.sentinel.sentinelPassword',
  'config.redis.cluster.password',
  'config.networks.*.password',
  'config.networks.*.accessToken',
  'config.networks.*.token',
  'config.networks.*.appToken',
  'config.networks.*.signingSecret',
  'config.audit.key',
  'config.audit.checkpoint.key',
  'config.web.metricsToken',
];

export interface LoggerOptions {
  /** pino level; VMOPS_LOG_LEVEL usually. */
  level: string;
  /** Where lines go (default: standard error, so standard output stays the terminal chat). */
  destination?: DestinationStream;
}

/** Characters that reorder or hide text; JSON keeps them raw, so a log read with `cat` would show them working. */
const REORDERING = /[\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

/**
 * The destination, with every reordering character in a line written as its JSON escape (`\u202e`):
 * the line means the same to a JSON reader, and a person reading the file sees the escape. (JSON
 * already escapes the control characters.)
 */
function escapingReordering(destination: DestinationStream): DestinationStream {
  const inner = destination as DestinationStream & { flush?(cb: (error?: Error) => void): void };
  return {
    write: (line: string) =>
      inner.write(
        line.replace(REORDERING, (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`),
      ),
    ...(inner.flush ? { flush: (cb: (error?: Error) => void) => inner.flush?.(cb) } : {}),
  } as DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    escapingReordering(options.destination ?? pino.destination(2)),
  );
}

/** Removes the password from a redis:// URL before it is shown or logged. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = 'redacted';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
