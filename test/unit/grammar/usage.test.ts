import { describe, expect, it } from 'vitest';
import { allCommands } from '../../../commands/index.ts';
import type { CommandSpec } from '../../../src/command-spec.ts';
import { accessText, helpFor, helpList, usageLine } from '../../../src/grammar/usage.ts';
import type { Access } from '../../../src/types.ts';

const byName = (name: string): CommandSpec => {
  const spec = allCommands.find((candidate) => candidate.name === name);
  if (spec === undefined) throw new Error(`no command ${name}`);
  return spec;
};

/** The default policy for a person with these roles (admin may do everything). */
const mayWith =
  (known: boolean, roles: string[]) =>
  (spec: CommandSpec): boolean => {
    const access: Access = spec.access;
    if (access === 'anyone') return true;
    if (!known) return false;
    return access === 'known' || roles.includes('admin') || roles.includes(access);
  };

describe('usageLine', () => {
  it.each([
    ['build', 'build [product] <version> <format…|all>'],
    ['test', 'test [product] <version> [format…]'],
    ['publish', 'publish [product] <version> [format…]'],
    ['deploy', 'deploy [product] <version> <cloud…>'],
    ['update', 'update [product] <version>'],
    ['revoke', 'revoke [product] <version> [--reason "…"]'],
    ['images', 'images [product] [version]'],
    ['jobs', 'jobs [--limit N]'],
    ['status', 'status [job]'],
    ['log', 'log <job> [--tail N]'],
    ['report', 'report <job>'],
    ['cancel', 'cancel <job>'],
    ['retry', 'retry <job>'],
    ['approve', 'approve <request>'],
    ['deny', 'deny <request> [reason…]'],
    ['pending', 'pending'],
    ['agents', 'agents'],
    ['subscribe', 'subscribe [event…]'],
    ['unsubscribe', 'unsubscribe [event…]'],
    ['oncall', 'oncall'],
    ['whoami', 'whoami'],
    ['help', 'help [command]'],
  ])('%s', (name, line) => {
    expect(usageLine(byName(name))).toBe(line);
  });
});

describe('helpList', () => {
  const listed = (text: string): string[] =>
    text
      .split('\n')
      .filter((line) => line.startsWith('  '))
      .map((line) => line.trim().split(' ')[0] ?? '');

  it('shows a guest only what anyone may run', () => {
    expect(listed(helpList(allCommands, mayWith(false, [])))).toEqual(['oncall', 'whoami', 'help']);
  });

  it('shows a viewer the views but not build, cancel or approve', () => {
    const names = listed(helpList(allCommands, mayWith(true, ['viewer'])));
    expect(names).toEqual([
      'images',
      'jobs',
      'status',
      'log',
      'report',
      'pending',
      'agents',
      'oncall',
      'whoami',
      'help',
    ]);
  });

  it('shows an operator the stage commands but not approve or deny', () => {
    const names = listed(helpList(allCommands, mayWith(true, ['operator'])));
    expect(names).toContain('build');
    expect(names).toContain('cancel');
    expect(names).not.toContain('approve');
    expect(names).not.toContain('deny');
  });

  it('shows an admin everything, grouped, one line each with its summary', () => {
    const text = helpList(allCommands, mayWith(true, ['admin']));
    expect(listed(text)).toHaveLength(allCommands.length);
    expect(text.split('\n')[0]).toBe('Commands you may run (type help <command> for more):');
    expect(text).toContain('Images:\n  build [product] <version> <format…|all> — build images');
    expect(text).toContain('Jobs:\n  jobs [--limit N] — list recent jobs');
    expect(text).toContain('Approvals:\n  approve <request> — approve a waiting request');
    expect(text).toContain('Rooms and people:\n  agents — list live workers');
  });

  it('puts commands it has no group for under Other', () => {
    const extra: CommandSpec = { ...byName('oncall'), name: 'ping', summary: 'answer pong' };
    expect(helpList([extra], () => true)).toContain('Other:\n  ping — answer pong');
  });

  it('says so when the asker may run nothing', () => {
    expect(helpList(allCommands, () => false)).toBe(
      'There is no command you may run here; ask an admin of vmops to list your account in the config.',
    );
  });
});

describe('helpFor', () => {
  it('shows usage, description, examples and who may run build', () => {
    const text = helpFor(byName('build'));
    const lines = text.split('\n');
    expect(lines[0]).toBe('build [product] <version> <format…|all>');
    expect(lines[1]).toBe('Build images of a version for some formats, or all of them.');
    expect(text).toContain('Examples:\n  build 2.6 kvm\n');
    expect(lines.at(-1)).toBe('Who may run it: people with the operator role (and admins).');
  });

  it('lists the options of revoke and the aliases of log', () => {
    expect(helpFor(byName('revoke'))).toContain('Options:\n  --reason "…"  why the version is revoked');
    expect(helpFor(byName('log'))).toContain('Also called: logs');
  });

  it('uses the access it is given (a config override)', () => {
    expect(helpFor(byName('build'), 'admin').split('\n').at(-1)).toBe('Who may run it: admins.');
  });

  it.each([
    ['anyone', 'anyone'],
    ['known', 'anyone listed in the vmops config'],
    ['approver', 'people with the approver role (and admins)'],
  ] as const)('describes %s', (access, text) => {
    expect(accessText(access)).toBe(text);
  });
});
