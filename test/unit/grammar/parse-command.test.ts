// readCommand finds the command without config, so the pipeline can authorize before bindCommand
// checks the arguments against config; parseCommand is the two in a row.
import { describe, expect, it } from 'vitest';
import { CommandRegistry } from '../../../src/grammar/command-registry.ts';
import { bindCommand, readCommand } from '../../../src/grammar/parse-command.ts';
import { config, registry, vocabulary } from './parse-fixture.ts';

const MAX = config.bot.maxCommandLength;

const head = (text: string, words = registry) => {
  const result = readCommand(text, words, MAX);
  if (!result.ok) throw new Error(`expected "${text}" to be read, got ${result.error.message}`);
  return result.value;
};

describe('readCommand', () => {
  it('finds the command and keeps the words after it unchecked', () => {
    const read = head('  Build 2.6 vmwre ');
    expect(read.spec.name).toBe('build');
    expect(read.tokens).toEqual(['2.6', 'vmwre']);
    expect(read.text).toBe('Build 2.6 vmwre');
  });

  it('suggests only command names for an unknown command', () => {
    const result = readCommand('bild 2.6 kvm', registry, MAX);
    expect(result.ok || result.error.message).toBe(
      "unknown command 'bild': did you mean build? Type help for the list.",
    );
  });

  it('refuses what cannot be read at all', () => {
    const result = readCommand('build "2.6', registry, MAX);
    expect(result.ok || result.error.code).toBe('bad_syntax');
  });

  it('reads <command> --help as help about the command, so only help needs authorizing', () => {
    expect(head('approve --help r-1')).toMatchObject({ spec: { name: 'help' }, tokens: ['approve'] });
    expect(head('-h approve')).toMatchObject({ spec: { name: 'help' }, tokens: ['approve'] });
  });

  it('leaves --help to the binder when no help command is registered', () => {
    const [build] = registry.all();
    if (build === undefined) throw new Error('no commands');
    const withoutHelp = new CommandRegistry([build]);
    expect(head('build --help', withoutHelp)).toMatchObject({ spec: { name: 'build' }, tokens: ['--help'] });
  });

  it('answers a bug as internal_error instead of throwing', () => {
    const broken = {
      lookup(): never {
        throw new Error('boom');
      },
      names: () => [],
    };
    const result = readCommand('build 2.6 kvm', broken, MAX);
    expect(result.ok || result.error.code).toBe('internal_error');
  });
});

describe('bindCommand', () => {
  it('binds what readCommand read, against config', () => {
    const bound = bindCommand(head('build 2.6 vbox'), vocabulary, registry);
    expect(bound.ok && bound.value).toMatchObject({
      spec: { name: 'build' },
      args: { product: 'cernvm', version: '2.6', formats: ['virtualbox'] },
      text: 'build 2.6 vbox',
    });
  });

  it('refuses arguments that config does not know, with a suggestion', () => {
    const bound = bindCommand(head('build 2.6 vmwre'), vocabulary, registry);
    expect(bound.ok || bound.error.code).toBe('unknown_format');
  });
});
