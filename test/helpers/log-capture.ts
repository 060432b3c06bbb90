// Log lines kept in memory, as data (pino's own tests do it with a `sink`): the real logger, with its
// redaction, writing into a stream whose lines the test reads.
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../src/observability/logger.ts';

export interface CapturedLog {
  /** Where the logger writes. */
  stream: Writable;
  /** Every line written, without its newline. */
  lines: string[];
  /** The lines as JSON objects. */
  entries(): Record<string, unknown>[];
}

/** A stream that keeps the lines written to it. */
export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(line);
      done();
    },
  });
  return { stream, lines, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** The real logger (createLogger, with its redaction) writing JSON lines into memory. */
export function capturedLogger(level = 'debug'): CapturedLog & { log: Logger } {
  const captured = captureLog();
  return { ...captured, log: createLogger({ level, destination: captured.stream }) };
}
