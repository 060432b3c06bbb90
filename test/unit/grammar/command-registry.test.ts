import { describe, expect, it } from 'vitest';
import { allCommands } from '../../../commands/index.ts';
import { CommandRegistry } from '../../../src/grammar/command-registry.ts';
import type { CommandSpec } from '../../../src/grammar/command-spec.ts';

const spec = (name: string, aliases: string[] = []): CommandSpec => ({
  name,
  aliases,
  summary: name,
  examples: [],
  access: 'anyone',
  args: [],
  run: async () => ({}),
});

describe('CommandRegistry', () => {
  it('finds a command by name or alias in any case', () => {
    const registry = new CommandRegistry([spec('status'), spec('log', ['logs'])]);
    expect(registry.lookup('STATUS')?.name).toBe('status');
    expect(registry.lookup('Logs')?.name).toBe('log');
    expect(registry.lookup('nope')).toBeUndefined();
    expect(registry.lookup('__proto__')).toBeUndefined();
    expect(registry.lookup('constructor')).toBeUndefined();
  });

  it('lists every command in order, and every word for suggestions', () => {
    const registry = new CommandRegistry([spec('status'), spec('log', ['logs'])]);
    expect(registry.all().map((s) => s.name)).toEqual(['status', 'log']);
    expect(registry.names()).toEqual(['status', 'log', 'logs']);
  });

  it('refuses two commands with the same name, naming both', () => {
    const first = spec('status');
    const second = spec('status');
    expect(() => new CommandRegistry([first, second])).toThrow(
      "command word 'status' is used by both status and status",
    );
  });

  it('refuses an alias that is another command’s name', () => {
    expect(() => new CommandRegistry([spec('jobs'), spec('status', ['jobs'])])).toThrow(
      "command word 'jobs' is used by both jobs and status",
    );
  });

  it('refuses an alias listed twice in one command', () => {
    expect(() => new CommandRegistry([spec('log', ['logs', 'logs'])])).toThrow(
      "command word 'logs' is used twice in log",
    );
  });

  it('refuses a command word that is not lower-case letters, digits and -', () => {
    expect(() => new CommandRegistry([spec('Build')])).toThrow(
      "command Build: 'Build' is not a command word",
    );
    expect(() => new CommandRegistry([spec('help', ['?'])])).toThrow(
      "command help: '?' is not a command word",
    );
  });

  it('accepts the shipped commands', () => {
    const registry = new CommandRegistry(allCommands);
    expect(registry.all()).toHaveLength(28);
  });
});
