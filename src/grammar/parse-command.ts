// Reads a command text: splits it into words, finds the command (or help for `<cmd> --help`), binds
// its arguments. Never throws: every problem, even a bug, comes back as a failed Result.
import type { CommandSpec, ParsedCommand } from '../command-spec.ts';
import { asVmopsError, fail, ok, type Result } from '../errors.ts';
import { bindArgs, type CommandWords, unknownCommand } from './bind-args.ts';
import { tokenize } from './tokenize.ts';
import type { Vocabulary } from './vocabulary.ts';

const HELP_FLAGS = new Set(['--help', '-h']);

/** `help <command>`, when a help command is registered. */
function helpAbout(
  spec: CommandSpec,
  text: string,
  registry: CommandWords,
  vocabulary: Vocabulary,
): Result<ParsedCommand> | undefined {
  const help = registry.lookup('help');
  if (help === undefined) return undefined;
  const bound = bindArgs(help, [spec.name], vocabulary, registry);
  return bound.ok ? ok<ParsedCommand>({ spec: help, args: bound.value, text }) : bound;
}

function parse(
  text: string,
  registry: CommandWords,
  vocabulary: Vocabulary,
  maxLength: number,
): Result<ParsedCommand> {
  const tokens = tokenize(text, maxLength);
  if (!tokens.ok) return tokens;
  const [typed, ...rest] = tokens.value;
  if (typed === undefined)
    return fail('unknown_command', 'there is no command here: type help for the list.');
  const trimmed = text.trim();
  // `--help` or `-h` alone (or first) means help.
  const first = HELP_FLAGS.has(typed.toLowerCase()) && registry.lookup('help') ? 'help' : typed;
  const spec = registry.lookup(first);
  if (spec === undefined) return { ok: false, error: unknownCommand(first, registry) };
  if (rest.some((word) => HELP_FLAGS.has(word.toLowerCase()))) {
    const help = helpAbout(spec, trimmed, registry, vocabulary);
    if (help !== undefined) return help;
  }
  const args = bindArgs(spec, rest, vocabulary, registry);
  return args.ok ? ok({ spec, args: args.value, text: trimmed }) : args;
}

/** Parses a command text (the part after the bot's address) against the registered commands. */
export function parseCommand(
  text: string,
  registry: CommandWords,
  vocabulary: Vocabulary,
  maxLength: number,
): Result<ParsedCommand> {
  try {
    return parse(text, registry, vocabulary, maxLength);
  } catch (error) {
    return { ok: false, error: asVmopsError(error) };
  }
}
