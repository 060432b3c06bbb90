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

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination ?? pino.destination(2),
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
