// Reads a command text in two steps, so the pipeline can authorize in between: readCommand splits it
// into words and finds the command (or help, for `<command> --help`) without looking at config;
// bindCommand then checks the arguments against config. Neither throws: every problem, even a bug,
// comes back as a failed Result.

import { asVmopsError, fail, ok, type Result } from '../errors.ts';
import { bindArgs, type CommandWords, unknownCommand } from './bind-args.ts';
import type { CommandSpec, ParsedCommand } from './command-spec.ts';
import { tokenize } from './tokenize.ts';
import type { Vocabulary } from './vocabulary.ts';

/** A command found but not yet bound: which command, and the words after the command word. */
export interface CommandHead {
  spec: CommandSpec;
  tokens: string[];
  /** The command text as read (trimmed). */
  text: string;
}

/** `--help`, `-h`, or `—help` as a phone types it. */
const HELP_FLAG = /^(?:(?:--|[\u2013\u2014])help|-h)$/i;

function read(text: string, registry: CommandWords, maxLength: number): Result<CommandHead> {
  const tokens = tokenize(text, maxLength);
  if (!tokens.ok) return tokens;
  const [typed, ...rest] = tokens.value;
  if (typed === undefined)
    return fail('unknown_command', 'there is no command here: type help for the list.');
  const trimmed = text.trim();
  const help = registry.lookup('help');
  // `--help` alone or first is help itself: `-h build` is `help build`.
  if (help !== undefined && HELP_FLAG.test(typed)) return ok({ spec: help, tokens: rest, text: trimmed });
  const spec = registry.lookup(typed);
  if (spec === undefined) return { ok: false, error: unknownCommand(typed, registry) };
  // `build --help`: only right after the command word, so `deny r-1 see -h` keeps its -h.
  const [next] = rest;
  if (help !== undefined && next !== undefined && HELP_FLAG.test(next)) {
    return ok({ spec: help, tokens: [spec.name], text: trimmed });
  }
  return ok({ spec, tokens: rest, text: trimmed });
}

/** Splits a command text (the part after the bot's address) into its command and the words after it. */
export function readCommand(text: string, registry: CommandWords, maxLength: number): Result<CommandHead> {
  try {
    return read(text, registry, maxLength);
  } catch (error) {
    return { ok: false, error: asVmopsError(error) };
  }
}

/** Binds the words of a command read by readCommand to its arguments, checked against config. */
export function bindCommand(
  head: CommandHead,
  vocabulary: Vocabulary,
  registry: CommandWords,
): Result<ParsedCommand> {
  const args = bindArgs(head.spec, head.tokens, vocabulary, registry);
  return args.ok ? ok({ spec: head.spec, args: args.value, text: head.text }) : args;
}

/** readCommand, then bindCommand: for callers that need no step in between. */
export function parseCommand(
  text: string,
  registry: CommandWords,
  vocabulary: Vocabulary,
  maxLength: number,
): Result<ParsedCommand> {
  const head = readCommand(text, registry, maxLength);
  return head.ok ? bindCommand(head.value, vocabulary, registry) : head;
}
