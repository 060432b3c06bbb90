// Shared by the grammar tests: the real commands, the default config, and shortcuts to parse with them.
import { allCommands } from '../../../commands/index.ts';
import { loadConfig } from '../../../src/app/config-load.ts';
import type { Result, VmopsError } from '../../../src/errors.ts';
import { CommandRegistry } from '../../../src/grammar/command-registry.ts';
import type { ParsedCommand } from '../../../src/grammar/command-spec.ts';
import { parseCommand } from '../../../src/grammar/parse-command.ts';
import { vocabularyFromConfig } from '../../../src/grammar/vocabulary.ts';

export const config = loadConfig();
export const registry = new CommandRegistry(allCommands);
export const vocabulary = vocabularyFromConfig(config);

export function parse(text: string): Result<ParsedCommand> {
  return parseCommand(text, registry, vocabulary, config.bot.maxCommandLength);
}

/** The parsed command; fails the test with the refusal when the text does not parse. */
export function parsed(text: string): ParsedCommand {
  const result = parse(text);
  if (!result.ok)
    throw new Error(`expected "${text}" to parse, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** The refusal; fails the test when the text parses. */
export function refusal(text: string): VmopsError {
  const result = parse(text);
  if (result.ok)
    throw new Error(`expected "${text}" to be refused, but it parsed as ${result.value.spec.name}`);
  return result.error;
}
