// The binder against a config with two products, a format one product lacks, no clouds, and people.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/app/config-load.ts';
import { bindArgs } from '../../../src/grammar/bind-args.ts';
import { CommandRegistry } from '../../../src/grammar/command-registry.ts';
import type { CommandSpec } from '../../../src/grammar/command-spec.ts';
import { vocabularyFromConfig } from '../../../src/grammar/vocabulary.ts';

const config = parseConfig(
  `
defaultProduct: big
formats:
  kvm: { aliases: [qcow2] }
  vmware: { aliases: [vmdk] }
  virtualbox: { aliases: [vbox] }
products:
  big: { formats: [kvm, vmware, virtualbox] }
  tiny: { formats: [kvm, vmware] }
people:
  alice: { roles: [operator] }
  bob: { roles: [viewer] }
`,
  'test.yaml',
  {},
);
const vocabulary = vocabularyFromConfig(config);

const spec = (args: CommandSpec['args'], options?: CommandSpec['options']): CommandSpec => ({
  name: 'try',
  summary: 'try',
  examples: [],
  access: 'anyone',
  args,
  ...(options ? { options } : {}),
  run: async () => ({}),
});
const registry = new CommandRegistry([spec([])]);

const bind = (command: CommandSpec, text: string) =>
  bindArgs(command, text === '' ? [] : text.split(' '), vocabulary, registry);
const value = (command: CommandSpec, text: string) => {
  const result = bind(command, text);
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
};
const message = (command: CommandSpec, text: string) => {
  const result = bind(command, text);
  if (result.ok) throw new Error(`expected a refusal for ${text}`);
  return `${result.error.code}: ${result.error.message}`;
};

const buildLike = spec([
  { name: 'product', kind: 'product', optional: true },
  { name: 'version', kind: 'version' },
  { name: 'format', kind: 'formats' },
]);

describe('bindArgs: products and their formats', () => {
  it('uses the default product when none is named', () => {
    expect(value(buildLike, '1.0 vbox')).toMatchObject({ product: 'big', formats: ['virtualbox'] });
  });

  it('expands all to the formats of the product named', () => {
    expect(value(buildLike, 'tiny 1.0 all').formats).toEqual(['kvm', 'vmware']);
    expect(value(buildLike, '1.0 all').formats).toEqual(['kvm', 'vmware', 'virtualbox']);
  });

  it('refuses a format the product is not built for', () => {
    expect(message(buildLike, 'tiny 1.0 virtualbox')).toBe(
      'unknown_format: tiny is not built for virtualbox: tiny is built for kvm, vmware (or all)',
    );
    expect(message(buildLike, 'tiny 1.0 vbox')).toBe(
      "unknown_format: tiny is not built for virtualbox ('vbox'): tiny is built for kvm, vmware (or all)",
    );
  });

  it('lists every product, marking the default', () => {
    expect(message(buildLike, 'tinny 1.0 kvm')).toBe(
      "unknown_product: unknown product 'tinny': did you mean tiny? Products: big (the default), tiny; leave the product out for big",
    );
  });

  it('requires a product when the argument is not optional', () => {
    const needsProduct = spec([{ name: 'product', kind: 'product' }]);
    expect(value(needsProduct, 'TINY').product).toBe('tiny');
    expect(message(needsProduct, '')).toBe(
      'missing_argument: try needs a product: big (the default), tiny. Usage: try [product]',
    );
    expect(message(needsProduct, 'zzz')).toMatch(/^unknown_product: unknown product 'zzz': Products: big/);
  });
});

describe('bindArgs: clouds, people, events, text', () => {
  it('says when no clouds are configured', () => {
    const deployLike = spec([{ name: 'cloud', kind: 'clouds' }]);
    expect(message(deployLike, 'local')).toBe(
      "unknown_cloud: unknown cloud 'local': No clouds are configured; an admin can add them under clouds in the config",
    );
  });

  it('binds a person from config, suggesting one for a typo', () => {
    const personal = spec([{ name: 'person', kind: 'person' }]);
    expect(value(personal, 'Alice').words).toEqual({ person: 'alice' });
    expect(message(personal, 'alcie')).toBe(
      "bad_argument: no person 'alcie' in the config: did you mean alice? People: alice, bob",
    );
    expect(message(personal, '')).toBe(
      'missing_argument: try needs a person: alice, bob. Usage: try <person>',
    );
  });

  it('requires text when it is not optional', () => {
    const noted = spec([{ name: 'note', kind: 'text' }]);
    expect(value(noted, 'a b=c d').text).toBe('a b=c d');
    expect(message(noted, '')).toBe('missing_argument: try needs note. Usage: try <note…>');
  });

  it('takes every word as text once the text has begun, even one starting with -', () => {
    const noted = spec(
      [
        { name: 'person', kind: 'person' },
        { name: 'note', kind: 'text', optional: true },
      ],
      [{ name: 'force', type: 'boolean', description: 'do it anyway' }],
    );
    expect(value(noted, 'alice --force see -h --force —x force=1')).toMatchObject({
      words: { person: 'alice' },
      options: { force: true },
      text: 'see -h --force —x force=1',
    });
    expect(message(noted, 'alice -h')).toMatch(/^bad_option: unknown option '-h' for try:/);
  });

  it('keeps words starting with - options when it cannot know where the text begins', () => {
    const noted = spec([
      { name: 'cloud', kind: 'clouds', optional: true },
      { name: 'note', kind: 'text', optional: true },
    ]);
    expect(message(noted, 'late -h')).toMatch(/^bad_option: unknown option '-h': try takes no options/);
  });
});

describe('bindArgs: options', () => {
  const flagged = spec(
    [{ name: 'note', kind: 'text', optional: true }],
    [
      { name: 'force', type: 'boolean', description: 'do it anyway' },
      { name: 'count', type: 'integer', description: 'how many' },
      { name: 'min', type: 'integer', min: 3, description: 'at least three' },
    ],
  );

  it('reads a boolean flag and leaves undeclared key=value words alone', () => {
    expect(value(flagged, '--force other=1')).toMatchObject({ options: { force: true }, text: 'other=1' });
  });

  it('refuses a value for a boolean flag', () => {
    expect(message(flagged, '--force=yes')).toBe(
      'bad_option: --force takes no value: write just --force. Usage: try [note…] [--force] [--count N] [--min N]',
    );
    expect(message(flagged, 'force=yes')).toMatch(/^bad_option: --force takes no value/);
  });

  it('reads integers with and without bounds', () => {
    expect(value(flagged, '--count=-4 --min=+7').options).toEqual({ count: -4, min: 7 });
    expect(value(flagged, '--count -4').options).toEqual({ count: -4 });
  });

  it('refuses integers out of bounds or not integers', () => {
    expect(message(flagged, '--min 2')).toMatch(
      /^bad_option: --min takes a whole number of at least 3, not '2'/,
    );
    expect(message(flagged, '--count x')).toMatch(/^bad_option: --count takes a whole number, not 'x'/);
  });

  it('cuts and cleans an option value echoed back', () => {
    const shown = message(flagged, `--count=${'9'.repeat(100)}`);
    expect(shown).toContain(`not '${'9'.repeat(59)}…'`);
    expect(message(flagged, '--count=\u001b[2J')).toContain("not '\\x1b[2J'");
  });

  it('suggests an option and lists them all', () => {
    expect(message(flagged, '--forse')).toBe(
      "bad_option: unknown option '--forse' for try: did you mean --force? Options: --force, --count N, --min N. Usage: try [note…] [--force] [--count N] [--min N]",
    );
    expect(message(flagged, '—forse')).toMatch(
      /^bad_option: unknown option '—forse' for try: did you mean --force\?/,
    );
  });
});
