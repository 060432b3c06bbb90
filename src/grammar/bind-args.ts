// Binds the words after a command name to the command's arguments: options through util.parseArgs,
// then each positional argument checked against config. Every refusal says what would be right.
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { asVmopsError, type ErrorCode, ok, type Result, VmopsError } from '../errors.ts';
import { JOB_ID_PATTERN } from '../queue/job-id.ts';
import type { ArgSpec, BoundArgs, CommandSpec, OptionSpec } from './command-spec.ts';
import { echo } from './echo.ts';
import { suggest } from './suggest.ts';
import { optionUsage, usageLine, VARIADIC_KINDS } from './usage.ts';
import { readVersion, VERSION_SHAPE } from './version.ts';
import type { Vocabulary } from './vocabulary.ts';

export { VERSION_PATTERN } from './version.ts';
export const REQUEST_ID_PATTERN = /^[a-z0-9-]{1,40}$/;

/** What the binder needs of the command registry. */
export interface CommandWords {
  lookup(word: string): CommandSpec | undefined;
  names(): readonly string[];
}

/** A phone's en or em dash in front of a word (`—reason`), which it typed for `--`. */
const PHONE_DASH = /^[\u2013\u2014](?=\p{L})/u;
const LONG_OPTION = /^--([^=]+)(=[\s\S]*)?$/;
const KEY_VALUE = /^([A-Za-z][A-Za-z0-9_-]*)=([\s\S]*)$/;
const INTEGER = /^[+-]?\d{1,15}$/;

function refuse(code: ErrorCode, message: string): never {
  throw new VmopsError(code, message);
}

const withUsage = (spec: CommandSpec, message: string): string => `${message}. Usage: ${usageLine(spec)}`;
const meant = (word: string, candidates: readonly string[], show = (found: string) => found): string => {
  const found = suggest(word, candidates);
  return found === undefined ? '' : ` did you mean ${show(found)}?`;
};

/** `unknown command 'bild': did you mean build? Type help for the list.` */
export function unknownCommand(word: string, commands: CommandWords): VmopsError {
  const hint = meant(word, commands.names());
  const tail = hint === '' ? ' type help for the list of commands.' : `${hint} Type help for the list.`;
  return new VmopsError('unknown_command', `unknown command ${echo(word)}:${tail}`);
}

// ── options ──────────────────────────────────────────────────────────────────────────────────────

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
function readOptions(
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

// ── positional arguments ─────────────────────────────────────────────────────────────────────────

function productList(vocabulary: Vocabulary): string {
  return [...vocabulary.products.keys()]
    .map((product) => (product === vocabulary.defaultProduct ? `${product} (the default)` : product))
    .join(', ');
}

function unknownProduct(word: string, vocabulary: Vocabulary): never {
  const hint = meant(word, [...vocabulary.products.keys()]);
  refuse(
    'unknown_product',
    `unknown product ${echo(word)}:${hint} Products: ${productList(vocabulary)}; leave the product out for ${vocabulary.defaultProduct}`,
  );
}

function formatList(product: string, vocabulary: Vocabulary): string {
  return `${product} is built for ${(vocabulary.products.get(product) ?? []).join(', ')} (or all)`;
}

function resolveFormats(words: readonly string[], product: string, vocabulary: Vocabulary): string[] {
  const productFormats = vocabulary.products.get(product) ?? [];
  const formats = new Set<string>();
  for (const word of words) {
    const lowered = word.toLowerCase();
    if (lowered === 'all') {
      for (const format of productFormats) formats.add(format);
      continue;
    }
    const format = vocabulary.formatByWord.get(lowered);
    if (format === undefined) {
      const hint = meant(word, [...vocabulary.formatByWord.keys(), 'all'], (found) => {
        const canonical = vocabulary.formatByWord.get(found);
        return canonical === undefined || canonical === found ? found : `${found} (${canonical})`;
      });
      refuse('unknown_format', `unknown format ${echo(word)}:${hint} ${formatList(product, vocabulary)}`);
    }
    if (!productFormats.includes(format)) {
      const named = format === lowered ? format : `${format} (${echo(word)})`;
      refuse('unknown_format', `${product} is not built for ${named}: ${formatList(product, vocabulary)}`);
    }
    formats.add(format);
  }
  return [...formats];
}

function cloudList(vocabulary: Vocabulary): string {
  return vocabulary.clouds.length > 0
    ? `Clouds: ${vocabulary.clouds.join(', ')}`
    : 'No clouds are configured; an admin can add them under clouds in the config';
}

/** The words lower-cased, each one of `known`, without duplicates; `refusal` answers the first that is not. */
function resolveKnown(
  words: readonly string[],
  known: readonly string[],
  refusal: (word: string, hint: string) => never,
): string[] {
  const found = new Set<string>();
  for (const word of words) {
    const lowered = word.toLowerCase();
    if (!known.includes(lowered)) refusal(word, meant(word, known));
    found.add(lowered);
  }
  return [...found];
}

const resolveClouds = (words: readonly string[], vocabulary: Vocabulary): string[] =>
  resolveKnown(words, vocabulary.clouds, (word, hint) =>
    refuse('unknown_cloud', `unknown cloud ${echo(word)}:${hint} ${cloudList(vocabulary)}`),
  );

const resolveEvents = (words: readonly string[], vocabulary: Vocabulary): string[] =>
  resolveKnown(words, vocabulary.events, (word, hint) =>
    refuse('bad_argument', `unknown event ${echo(word)}:${hint} Events: ${vocabulary.events.join(', ')}`),
  );

function missing(spec: CommandSpec, arg: ArgSpec, product: string, vocabulary: Vocabulary): never {
  const needs: Record<ArgSpec['kind'], string> = {
    product: `a product: ${productList(vocabulary)}`,
    version: 'a version, like 2.6 or 2.6.1',
    formats: `at least one format: ${formatList(product, vocabulary)}`,
    clouds: `at least one cloud. ${cloudList(vocabulary)}`,
    job: 'a job id: type jobs to see recent jobs',
    request: 'a request id: type pending to see the requests waiting for approval',
    command: 'a command name: type help for the list',
    events: `at least one event: ${vocabulary.events.join(', ')}`,
    person: `a person: ${vocabulary.people.join(', ')}`,
    text: arg.name,
  };
  refuse('missing_argument', withUsage(spec, `${spec.name} needs ${needs[arg.kind]}`));
}

function badVersion(spec: CommandSpec, word: string, vocabulary: Vocabulary, productSkipped: boolean): never {
  const lowered = word.toLowerCase();
  const kinds = new Set(spec.args.map((arg) => arg.kind));
  if (kinds.has('formats') && vocabulary.formatByWord.has(lowered)) {
    refuse('missing_argument', withUsage(spec, `${spec.name} needs a version before the formats, like 2.6`));
  }
  if (kinds.has('clouds') && vocabulary.clouds.includes(lowered)) {
    refuse('missing_argument', withUsage(spec, `${spec.name} needs a version before the clouds, like 2.6`));
  }
  if (productSkipped && !/\d/.test(word)) {
    refuse(
      'bad_version',
      `${echo(word)} is neither a product nor a version: products are ${productList(vocabulary)}; write a version like 2.6 or 2.6.1`,
    );
  }
  refuse('bad_version', `${echo(word)} is not a version: write it like 2.6 or 2.6.1`);
}

/**
 * The version a word names, canonical. Another spelling of a version (`2.07`) is refused with the
 * canonical one suggested, so `2.07` and `2.7` can never become two versions; oversized parts too.
 */
function canonicalOrRefuse(
  spec: CommandSpec,
  word: string,
  vocabulary: Vocabulary,
  productSkipped: boolean,
): string {
  const reading = readVersion(word);
  if (reading.kind === 'canonical') return reading.version;
  if (reading.kind === 'spelling') {
    refuse(
      'bad_version',
      `${echo(word)} is version ${reading.version}, written without leading zeros: did you mean ${reading.version}?`,
    );
  }
  if (reading.kind === 'out_of_bounds' && VERSION_SHAPE.test(word))
    refuse('bad_version', `${echo(word)} is not a version: ${reading.reason}`);
  return badVersion(spec, word, vocabulary, productSkipped);
}

function singleWord(arg: ArgSpec, word: string, vocabulary: Vocabulary, commands: CommandWords): string {
  const lowered = word.toLowerCase();
  switch (arg.kind) {
    case 'job':
      if (!JOB_ID_PATTERN.test(lowered)) {
        refuse(
          'bad_argument',
          `${echo(word)} is not a job id: job ids look like k3x9q2ab or k3x9q2ab-kvm; type jobs to see recent jobs`,
        );
      }
      return lowered;
    case 'request':
      if (!REQUEST_ID_PATTERN.test(lowered)) {
        refuse(
          'bad_argument',
          `${echo(word)} is not a request id: type pending to see the requests waiting for approval`,
        );
      }
      return lowered;
    case 'command': {
      const spec = commands.lookup(word);
      if (spec === undefined) throw unknownCommand(word, commands);
      return spec.name;
    }
    case 'person':
      if (!vocabulary.people.includes(lowered)) {
        const hint = meant(word, vocabulary.people);
        const people = vocabulary.people.length > 0 ? vocabulary.people.join(', ') : 'nobody is listed';
        refuse('bad_argument', `no person ${echo(word)} in the config:${hint} People: ${people}`);
      }
      return lowered;
    default:
      return word;
  }
}

function bind(
  spec: CommandSpec,
  tokens: readonly string[],
  vocabulary: Vocabulary,
  commands: CommandWords,
): BoundArgs {
  const { positionals, options } = readOptions(spec, tokens);
  const bound: BoundArgs = {
    product: vocabulary.defaultProduct,
    formats: [],
    clouds: [],
    events: [],
    words: {},
    options,
  };
  let next = 0;
  let productSkipped = false;
  const rest = (): string[] => {
    const words = positionals.slice(next);
    next = positionals.length;
    return words;
  };
  for (const arg of spec.args) {
    const word = positionals[next];
    if (arg.kind === 'product') {
      const lowered = word?.toLowerCase();
      if (lowered !== undefined && vocabulary.products.has(lowered)) {
        bound.product = lowered;
        next++;
        continue;
      }
      if (word === undefined && !arg.optional) missing(spec, arg, bound.product, vocabulary);
      if (word !== undefined && !arg.optional) unknownProduct(word, vocabulary);
      if (word !== undefined && !VERSION_SHAPE.test(word)) {
        if (suggest(word, [...vocabulary.products.keys()]) !== undefined) unknownProduct(word, vocabulary);
        productSkipped = true;
      }
      continue;
    }
    if (word === undefined) {
      if (!arg.optional) missing(spec, arg, bound.product, vocabulary);
      continue;
    }
    switch (arg.kind) {
      case 'version':
        bound.version = canonicalOrRefuse(spec, word, vocabulary, productSkipped);
        next++;
        break;
      case 'formats':
        bound.formats = resolveFormats(rest(), bound.product, vocabulary);
        break;
      case 'clouds':
        bound.clouds = resolveClouds(rest(), vocabulary);
        break;
      case 'events':
        bound.events = resolveEvents(rest(), vocabulary);
        break;
      case 'text':
        bound.text = rest().join(' ');
        break;
      default:
        bound.words[arg.name] = singleWord(arg, word, vocabulary, commands);
        next++;
    }
  }
  const extra = positionals[next];
  if (extra !== undefined) {
    refuse(
      'unexpected_argument',
      withUsage(spec, `unexpected ${echo(extra)}: that is more than ${spec.name} takes`),
    );
  }
  return bound;
}

/** Binds the words after the command name (`tokens`) to the spec's arguments and options. */
export function bindArgs(
  spec: CommandSpec,
  tokens: readonly string[],
  vocabulary: Vocabulary,
  commands: CommandWords,
): Result<BoundArgs> {
  try {
    return ok(bind(spec, tokens, vocabulary, commands));
  } catch (error) {
    return { ok: false, error: asVmopsError(error) };
  }
}
