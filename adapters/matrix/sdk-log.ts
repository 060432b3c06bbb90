// The matrix-js-sdk logs through `loglevel` straight to the console (some 77 lines in its first second
// and a half). Importing this module before the SDK replaces the method factory of the SDK's root
// logger, which every child logger copies when it is made, so all of it goes to the sink the adapter
// sets (its pino logger, at debug level) instead.
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';

export type SdkLogSink = (level: string, args: unknown[]) => void;

let sink: SdkLogSink = () => undefined;

/** Where the SDK's log lines go from now on. */
export function setSdkLogSink(next: SdkLogSink): void {
  sink = next;
}

interface LoglevelLogger {
  methodFactory: (
    methodName: string,
    level: number,
    loggerName: string | symbol,
  ) => (...args: unknown[]) => void;
  rebuild(): void;
}

const root = sdkLogger as unknown as LoglevelLogger;
root.methodFactory =
  (methodName) =>
  (...args) =>
    sink(methodName, args);
root.rebuild();

/** The SDK's logger, for its `logger` option. */
export { sdkLogger };
