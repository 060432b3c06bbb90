// The texts of help: the list of commands an asker may run, one command's help, and who may run it,
// as the real policy has it (roles may include others, so no test assumes they do not).
import { describe, expect, it } from 'vitest';
import { allCommands } from '../../../commands/index.ts';
import type { CommandSpec } from '../../../src/grammar/command-spec.ts';
import { accessFor, mayRun } from '../../../src/people/authorize.ts';
import { accessText, helpFor, helpList } from '../../../src/render/help.ts';
import type { Principal } from '../../../src/types.ts';
import { config, guest, person } from './fake-context.ts';

const byName = (name: string): CommandSpec => {
  const spec = allCommands.find((candidate) => candidate.name === name);
  if (spec === undefined) throw new Error(`no command ${name}`);
  return spec;
};

const mayWith = (principal: Principal) => (spec: CommandSpec) =>
  mayRun(principal, accessFor(spec, config.policy));

const listed = (text: string): string[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('  '))
    .map((line) => line.trim().split(' ')[0] ?? '');

describe('helpList', () => {
  it('shows a guest only what anyone may run', () => {
    expect(listed(helpList(allCommands, mayWith(guest)))).toEqual(['oncall', 'whoami', 'help']);
  });

  it('shows a viewer the views but not build, cancel or approve', () => {
    const names = listed(helpList(allCommands, mayWith(person('carol', ['viewer']))));
    expect(names).toEqual([
      'images',
      'clouds',
      'jobs',
      'status',
      'log',
      'report',
      'pending',
      'oncall',
      'agents',
      'whoami',
      'login',
      'help',
    ]);
  });

  it('shows an operator the stage commands but not approve or deny', () => {
    const names = listed(helpList(allCommands, mayWith(person('alice', ['operator']))));
    expect(names).toContain('build');
    expect(names).toContain('cancel');
    expect(names).not.toContain('approve');
    expect(names).not.toContain('deny');
  });

  it('shows an admin everything, grouped, one line each with its summary', () => {
    const text = helpList(allCommands, mayWith(person('root', ['admin'])));
    expect(listed(text)).toHaveLength(allCommands.length);
    expect(text.split('\n')[0]).toBe('Commands you may run (type help <command> for more):');
    expect(text).toContain('Images:\n  build [product] <version> <format…|all> — build images');
    expect(text).toContain('Jobs:\n  jobs [--limit N] — list recent jobs');
    expect(text).toContain('Approvals:\n  approve <request> — approve a waiting request');
    expect(text).toContain('Rooms and people:\n  agents — list live workers');
  });

  it('puts commands it has no group for under Other', () => {
    const extra: CommandSpec = { ...byName('whoami'), name: 'ping', summary: 'answer pong' };
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
    const text = helpFor(byName('build'), 'operator');
    const lines = text.split('\n');
    expect(lines[0]).toBe('build [product] <version> <format…|all>');
    expect(lines[1]).toBe('Build images of a version for some formats, or all of them.');
    expect(text).toContain('Examples:\n  build 2.6 kvm\n');
    expect(lines.at(-1)).toBe('Who may run it: people with the operator role (and admins).');
  });

  it('lists the options of revoke and the aliases of log', () => {
    expect(helpFor(byName('revoke'), 'operator')).toContain(
      'Options:\n  --reason "…"  why the version is revoked',
    );
    expect(helpFor(byName('log'), 'known')).toContain('Also called: logs');
  });

  it('says the access it is given (a config override), not the default', () => {
    expect(helpFor(byName('build'), 'admin').split('\n').at(-1)).toBe('Who may run it: admins.');
  });
});

describe('accessText', () => {
  it.each([
    ['anyone', 'anyone'],
    ['known', 'anyone listed in the vmops config'],
    ['admin', 'admins'],
    ['approver', 'people with the approver role (and admins)'],
  ] as const)('describes %s', (access, text) => {
    expect(accessText(access)).toBe(text);
  });

  it('names every role the policy lets run a viewer command, and no other', () => {
    const text = accessText('viewer');
    expect(text).toMatch(/^people with the viewer(, \w+)*( or \w+)? role \(and admins\)$/);
    for (const role of ['operator', 'approver'] as const) {
      expect(text.includes(role)).toBe(mayRun(person('x', [role]), 'viewer'));
    }
  });
});
