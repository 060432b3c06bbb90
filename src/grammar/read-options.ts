// The options of a command as typed: long options (`--reason=…`, `--reason …`, a phone's `—reason`),
// `key=value` words for options that take them, integers in their range, read by util.parseArgs;
// what is left are the positional words, for the binder (bind-args.ts). Every refusal names the
// option and what it needs.
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import type { BoundArgs, CommandSpec, OptionSpec } from './command-spec.ts';
import { echo } from './echo.ts';
import { meant, refuse, withUsage } from './refusals.ts';
import { optionUsage, VARIADIC_KINDS } from './usage.ts';

/** A phone's en or em dash in front of a word (`—reason`), which it typed for `--`. */
const PHONE_DASH = /^[\u2013\u2014](?=\p{L})/u;
const LONG_OPTION = /^--([^=]+)(=[\s\S]*)?$/;
const KEY_VALUE = /^([A-Za-z][A-Za-z0-9_-]*)=([\s\S]*)$/;
const INTEGER = /^[+-]?\d{1,15}$/;

const optionName = (option: OptionSpec): string => optionUsage(option).slice(1, -1);

/** What the binder derives from a spec, made once per spec rather than once per command typed. */
interface SpecShape {
  declared: Map<string, OptionSpec>;
  textAt: number | undefined;
  parseConfig: ParseArgsOptionsConfig;
}

const shapes = new WeakMap<CommandSpec, SpecShape>();

function shapeOf(spec: CommandSpec): SpecShape {
  let shape = shapes.get(spec);
  if (shape === undefined) {
    const parseConfig: ParseArgsOptionsConfig = {};
    for (const option of spec.options ?? []) {
      parseConfig[option.name] = { type: option.type === 'boolean' ? 'boolean' : 'string' };
    }
    shape = {
      declared: new Map((spec.options ?? []).map((option) => [option.name.toLowerCase(), option])),
      textAt: textStart(spec),
      parseConfig,
    };
    shapes.set(spec, shape);
  }
  return shape;
}

function declaredOptions(spec: CommandSpec): Map<string, OptionSpec> {
  return shapeOf(spec).declared;
}

function unknownOption(spec: CommandSpec, token: string): never {
  const options = spec.options ?? [];
  if (options.length === 0) {
    refuse('bad_option', withUsage(spec, `unknown option ${echo(token)}: ${spec.name} takes no options`));
  }
  const bare = (token.replace(/^[-\u2013\u2014]+/, '').split('=')[0] ?? '').toLowerCase();
  const hint = meant(
    bare,
    options.map((option) => option.name),
    (found) => `--${found}`,
  );
  refuse(
    'bad_option',
    withUsage(
      spec,
      `unknown option ${echo(token)} for ${spec.name}:${hint} Options: ${options.map(optionName).join(', ')}`,
    ),
  );
}

/**
 * How many positional words come before the text argument, when that is certain: every argument before
 * it takes exactly one word. Undefined when the command has no text argument or it cannot be known.
 */
function textStart(spec: CommandSpec): number | undefined {
  const index = spec.args.findIndex((arg) => arg.kind === 'text');
  if (index < 0) return undefined;
  const before = spec.args.slice(0, index);
  return before.every((arg) => !arg.optional && !VARIADIC_KINDS.has(arg.kind)) ? index : undefined;
}

/**
 * Prepares the words for util.parseArgs: `key=value` of a declared option becomes `--key=value`, and an
 * option that takes a value gets the next word whatever it starts with (`--reason "-h"`); any other
 * word starting with - is refused. Once the text argument has begun, every word is text (`see -h`).
 */
function prepareOptions(spec: CommandSpec, tokens: readonly string[]): { argv: string[]; options: number } {
  const { declared, textAt } = shapeOf(spec);
  const argv: string[] = [];
  let options = 0;
  let positionals = 0;
  for (let i = 0; i < tokens.length; i++) {
    const raw = tokens[i] ?? '';
    const long = LONG_OPTION.exec(raw.replace(PHONE_DASH, '--'));
    if (long) {
      const option = declared.get((long[1] ?? '').toLowerCase());
      if (option === undefined) unknownOption(spec, raw);
      const value = long[2] ?? (option.type !== 'boolean' && i + 1 < tokens.length ? `=${tokens[++i]}` : '');
      argv.push(`--${option.name}${value}`);
      options++;
      continue;
    }
    if (raw.startsWith('-')) unknownOption(spec, raw);
    const pair = KEY_VALUE.exec(raw);
    const option = pair ? declared.get((pair[1] ?? '').toLowerCase()) : undefined;
    if (option !== undefined) {
      argv.push(`--${option.name}=${pair?.[2] ?? ''}`);
      options++;
      continue;
    }
    if (positionals === textAt) {
      argv.push('--', ...tokens.slice(i));
      break;
    }
    argv.push(raw);
    positionals++;
  }
  return { argv, options };
}

function rangeText(option: OptionSpec): string {
  if (option.min !== undefined && option.max !== undefined) return ` from ${option.min} to ${option.max}`;
  if (option.min !== undefined) return ` of at least ${option.min}`;
  if (option.max !== undefined) return ` of at most ${option.max}`;
  return '';
}

/** Turns a util.parseArgs error into a reply naming the option and what it needs. */
function optionRefusal(spec: CommandSpec, error: unknown): never {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : '';
  const named = /'(-{1,2}[^' =<]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') unknownOption(spec, named ?? '-');
  const option = named ? declaredOptions(spec).get(named.replace(/^-+/, '').toLowerCase()) : undefined;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) {
    if (option.type === 'boolean') {
      refuse('bad_option', withUsage(spec, `--${option.name} takes no value: write just --${option.name}`));
    }
    const what = option.type === 'integer' ? `a whole number${rangeText(option)}` : 'a value';
    refuse('bad_option', withUsage(spec, `--${option.name} needs ${what}: write ${optionName(option)}`));
  }
  const options = spec.options ?? [];
  const list = options.length > 0 ? `its options are ${options.map(optionName).join(', ')}` : 'it takes none';
  refuse('bad_option', withUsage(spec, `the options of ${spec.name} could not be read: ${list}`));
}

function integerValue(spec: CommandSpec, option: OptionSpec, value: string): number {
  const number = INTEGER.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  const tooSmall = option.min !== undefined && number < option.min;
  const tooBig = option.max !== undefined && number > option.max;
  if (Number.isNaN(number) || tooSmall || tooBig) {
    refuse(
      'bad_option',
      withUsage(spec, `--${option.name} takes a whole number${rangeText(option)}, not ${echo(value)}`),
    );
  }
  return number;
}

/** Splits options from positional words, with option values converted. */
export function readOptions(
  spec: CommandSpec,
  tokens: readonly string[],
): { positionals: string[]; options: BoundArgs['options'] } {
  const { argv, options: given } = prepareOptions(spec, tokens);
  // No option given: every word is positional (prepareOptions refused any other word starting with -),
  // so parseArgs would only drop the `--` before the text.
  if (given === 0) {
    const marker = argv.indexOf('--');
    if (marker >= 0) argv.splice(marker, 1);
    return { positionals: argv, options: {} };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: shapeOf(spec).parseConfig,
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    optionRefusal(spec, error);
  }
  const options: BoundArgs['options'] = {};
  for (const option of spec.options ?? []) {
    const value = (parsed.values as Record<string, string | boolean | undefined>)[option.name];
    if (value === undefined) continue;
    options[option.name] =
      option.type === 'integer' && typeof value === 'string' ? integerValue(spec, option, value) : value;
  }
  return { positionals: parsed.positionals, options };
}
