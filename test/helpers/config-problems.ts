// Why a configuration is refused: the message parseConfig gives, for tests that assert on it.
import { parseConfig } from '../../src/app/config-load.ts';

export interface ConfigProblemsOptions {
  /** Environment for ${ENV} references (default none). */
  env?: NodeJS.ProcessEnv;
  /** The file name the message names (default my.yaml). */
  file?: string;
  /** Returned when the configuration is accepted; without it, an accepted configuration fails the test. */
  accepted?: string;
}

/** The message with which `text` is refused; the error must carry the code config_invalid. */
export function configProblems(text: string, options: ConfigProblemsOptions = {}): string {
  try {
    parseConfig(text, options.file ?? 'my.yaml', options.env ?? {});
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'config_invalid') throw new Error(`refused with code ${String(code)}, not config_invalid`);
    return (error as Error).message;
  }
  if (options.accepted !== undefined) return options.accepted;
  throw new Error('expected the config to be refused');
}
