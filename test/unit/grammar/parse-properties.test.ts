// Properties of parseCommand over generated input: it never throws, refusals are well formed, and
// whatever parses names only products, formats, clouds and events from config.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/app/config-load.ts';
import { ERROR_CODES, type Result } from '../../../src/errors.ts';
import { VERSION_PATTERN } from '../../../src/grammar/bind-args.ts';
import type { ParsedCommand } from '../../../src/grammar/command-spec.ts';
import { parseCommand, readCommand } from '../../../src/grammar/parse-command.ts';
import { LIFECYCLE_EVENTS, vocabularyFromConfig } from '../../../src/grammar/vocabulary.ts';
import { config, parse, registry } from './parse-fixture.ts';

/** A config where one product lacks a format, and there is a second cloud-less product. */
const uneven = parseConfig(
  `
defaultProduct: big
formats: { kvm: { aliases: [qcow2] }, vmware: {}, virtualbox: { aliases: [vbox] } }
products: { big: { formats: [kvm, vmware, virtualbox] }, tiny: { formats: [kvm, vmware] } }
clouds: { local: {} }
`,
  'uneven.yaml',
  {},
);
const unevenVocabulary = vocabularyFromConfig(uneven);

const MAX_MESSAGE = 600;

/** Checks one result; returns nothing so fast-check treats a thrown expectation as a counterexample. */
function checkResult(result: Result<ParsedCommand>): void {
  if (!result.ok) {
    expect(Object.keys(ERROR_CODES)).toContain(result.error.code);
    expect(result.error.code).not.toBe('internal_error');
    expect(result.error.message.length).toBeGreaterThan(0);
    expect(result.error.message.length).toBeLessThanOrEqual(MAX_MESSAGE);
    return;
  }
  const { args } = result.value;
  const product = config.products[args.product];
  expect(product).toBeDefined();
  for (const format of args.formats) expect(product?.formats).toContain(format);
  for (const cloud of args.clouds) expect(Object.keys(config.clouds)).toContain(cloud);
  for (const event of args.events) expect(LIFECYCLE_EVENTS).toContain(event);
  if (args.version !== undefined) expect(args.version).toMatch(VERSION_PATTERN);
}

const interesting = fc.constantFrom(
  ...registry.names(),
  'cernvm',
  'cernvn',
  '2.6',
  '2.6.1',
  '2.x',
  'all',
  'kvm',
  'vbox',
  'vmwre',
  'local',
  'lxplus-cloud',
  'k3x9q2ab',
  'r-1',
  'built',
  '--reason',
  '--limit',
  '--tail',
  '--tail=5',
  'limit=3',
  'reason=x',
  '--help',
  '-h',
  '-rf',
  '--',
  '"',
  "'",
  '""',
  '“',
  '’',
  '$(reboot)',
  '`id`',
  ';',
  '\n',
  '\u0000',
  '\u202E',
  '—reason',
  '__proto__',
);

describe('parseCommand properties', () => {
  it('never throws on arbitrary ASCII strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => checkResult(parse(text))));
  });

  it('never throws on arbitrary Unicode strings (graphemes)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => checkResult(parse(text))),
    );
  });

  it('never throws on arbitrary full-Unicode strings (any code point)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => checkResult(parse(text))));
  });

  it('never throws on strings longer than the limit', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 2001, maxLength: 2100 }), (text) => {
        const result = parse(text);
        expect(result.ok).toBe(false);
        checkResult(result);
      }),
      { numRuns: 20 },
    );
  });

  it('binds only config values from command words and random tokens', () => {
    const words = fc.array(fc.oneof(interesting, interesting, fc.string({ maxLength: 12 })), {
      maxLength: 8,
    });
    fc.assert(
      fc.property(fc.constantFrom(...registry.names()), words, (command, rest) =>
        checkResult(parse([command, ...rest].join(' '))),
      ),
      { numRuns: 2000 },
    );
  });

  it('reads a command without looking at config: it refuses only the syntax or the command word', () => {
    const words = fc.array(fc.oneof(interesting, fc.string({ maxLength: 12 })), { maxLength: 8 });
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...registry.names()), fc.string()), words, (command, rest) => {
        const result = readCommand([command, ...rest].join(' '), registry, config.bot.maxCommandLength);
        if (!result.ok) expect(['bad_syntax', 'unknown_command']).toContain(result.error.code);
      }),
      { numRuns: 1000 },
    );
  });

  it('never binds a format a product is not built for', () => {
    const words = fc.array(
      fc.constantFrom(
        'tiny',
        'big',
        'TINY',
        '2.6',
        'all',
        'kvm',
        'qcow2',
        'vmware',
        'virtualbox',
        'vbox',
        'xen',
        'local',
      ),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(fc.constantFrom('build', 'test', 'publish', 'deploy'), words, (command, rest) => {
        const result = parseCommand([command, ...rest].join(' '), registry, unevenVocabulary, 2000);
        if (!result.ok) return;
        const { product, formats, clouds } = result.value.args;
        expect(uneven.products[product]?.formats).toEqual(expect.arrayContaining(formats));
        expect(Object.keys(uneven.clouds)).toEqual(expect.arrayContaining(clouds));
      }),
      { numRuns: 1000 },
    );
  });

  it('binds every version of the documented shape (canonical: no leading zeros)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^(0|[1-9]\d{0,5})(\.(0|[1-9]\d{0,5})){1,3}$/), (version) => {
        const result = parse(`build ${version} kvm`);
        expect(result.ok && result.value.args.version).toBe(version);
      }),
    );
  });

  it('gives back a double-quoted reason exactly as typed', () => {
    const reason = fc
      .string({ unit: 'grapheme', maxLength: 80 })
      .filter((text) => !/["'“”„‟‘’‚‛\p{Cc}\u2028\u2029]/u.test(text) && !/^[-\u2013\u2014]/.test(text));
    fc.assert(
      fc.property(reason, (text) => {
        const result = parse(`deny r-1 "${text}"`);
        expect(result.ok && result.value.args.text).toBe(text);
      }),
    );
  });
});
