// Binds the words after a command name to the command's arguments: options first (read-options.ts),
// then each positional argument checked against config. Every refusal says what would be right.
import { asVmopsError, ok, type Result, VmopsError } from '../errors.ts';
import { JOB_ID_PATTERN } from '../queue/job-id.ts';
import type { ArgSpec, BoundArgs, CommandSpec } from './command-spec.ts';
import { echo } from './echo.ts';
import { readOptions } from './read-options.ts';
import { meant, refuse, withUsage } from './refusals.ts';
import { suggest } from './suggest.ts';
import { readVersion, VERSION_SHAPE } from './version.ts';
import type { Vocabulary } from './vocabulary.ts';

export { VERSION_PATTERN } from './version.ts';
export const REQUEST_ID_PATTERN = /^[a-z0-9-]{1,40}$/;

/** What the binder needs of the command registry. */
export interface CommandWords {
  lookup(word: string): CommandSpec | undefined;
  names(): readonly string[];
}

/** `unknown command 'bild': did you mean build? Type help for the list.` */
export function unknownCommand(word: string, commands: CommandWords): VmopsError {
  const hint = meant(word, commands.names());
  const tail = hint === '' ? ' type help for the list of commands.' : `${hint} Type help for the list.`;
  return new VmopsError('unknown_command', `unknown command ${echo(word)}:${tail}`);
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
