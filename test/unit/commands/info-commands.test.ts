// whoami and help: what people learn about themselves and the commands.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/app/config-load.ts';
import type { CommandContext } from '../../../src/grammar/command-spec.ts';
import { config, guest, person, run } from './fake-context.ts';

describe('whoami', () => {
  const nobodyOnCall = { whoIsOnCall: async () => ({}), now: () => 0 } as unknown as CommandContext['oncall'];
  const bobOnCall = {
    whoIsOnCall: async () => ({
      current: { person: 'bob', from: 0, until: Date.UTC(2026, 11, 1, 8), source: 'rota' },
    }),
  } as unknown as CommandContext['oncall'];

  it('names the person, roles and accounts, and says display names never count', async () => {
    const outcome = await run('whoami', {
      principal: person('bob', ['operator', 'approver']),
      oncall: nobodyOnCall,
    });
    expect(outcome.reply).toEqual({
      text: [
        'You are bob, with the roles operator, approver, speaking from the account shell:bob.',
        "Only that account id counts; display names (yours here: 'BOB') never do.",
        'Your accounts: shell:bob; from any of them you are bob.',
      ].join('\n'),
      tone: 'info',
    });
  });

  it('lists every network account of the person, and says when they are on call', async () => {
    const config = parseConfig(
      [
        'defaultProduct: p',
        'products: { p: { formats: [kvm] } }',
        'formats: { kvm: {} }',
        'people:',
        '  bob: { roles: [approver], accounts: { shell: bob, xmpp: bob@example.org, matrix: "@bob:example.org" } }',
        'oncall: { rota: [bob], timezone: Europe/Zurich }',
      ].join('\n'),
      'inline.yaml',
    );
    const text = (await run('whoami', { config, principal: person('bob', ['approver']), oncall: bobOnCall }))
      .reply?.text;
    expect(text?.split('\n').slice(2)).toEqual([
      'Your accounts: shell:bob, xmpp:bob@example.org, matrix:@bob:example.org; from any of them you are bob.',
      'You are on call until Tue 1 Dec 09:00 Europe/Zurich.',
    ]);
  });

  it('tells a guest why they are one and how to be listed', async () => {
    const outcome = await run('whoami', { principal: guest });
    expect(outcome.reply?.text).toBe(
      [
        'You are a guest: the account shell:mallory is not listed in the vmops config, so you have no roles.',
        "Only that account id counts; display names (yours here: 'Definitely Alice') never do.",
        'An admin can add it under people.<you>.accounts.shell in the config.',
      ].join('\n'),
    );
  });

  it('says so when a listed person has no roles', async () => {
    expect(
      (await run('whoami', { principal: person('dave', []), oncall: nobodyOnCall })).reply?.text,
    ).toMatch(/^You are dave, with no roles,/);
  });
});

describe('help', () => {
  const listed = (text: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith('  '))
      .map((line) => line.trim().split(' ')[0]);

  it('lists only what a guest may run', async () => {
    const text = (await run('help', { principal: guest })).reply?.text ?? '';
    expect(listed(text)).toEqual(['oncall', 'whoami', 'help']);
  });

  it('lists the stage commands for an operator, not the approvals', async () => {
    const names = listed((await run('help', { principal: person('alice', ['operator']) })).reply?.text ?? '');
    expect(names).toContain('build');
    expect(names).toContain('jobs');
    expect(names).not.toContain('approve');
  });

  it('explains one command and says the asker may run it', async () => {
    const text = (await run('help build', { principal: person('alice', ['operator']) })).reply?.text ?? '';
    expect(text.split('\n')[0]).toBe('build [product] <version> <format…|all>');
    expect(text).toContain('Examples:\n  build 2.6 kvm');
    expect(
      text.endsWith('Who may run it: people with the operator role (and admins).\nYou may run it.'),
    ).toBe(true);
  });

  it('explains a command the asker may not run, saying who may', async () => {
    const text = (await run('approve --help', { principal: person('carol', ['viewer']) })).reply?.text ?? '';
    expect(text.startsWith('approve <request>\n')).toBe(true);
    expect(text.endsWith('You may not run it: it is for people with the approver role (and admins).')).toBe(
      true,
    );
  });

  it('follows a policy override in the config', async () => {
    const strict = parseConfig(
      `defaultProduct: cernvm\nformats: { kvm: {} }\nproducts: { cernvm: { formats: [kvm] } }\npolicy: { commands: { build: admin } }\n`,
      'strict.yaml',
      {},
    );
    const operator = person('alice', ['operator']);
    const text = (await run('help build', { principal: operator, config: strict })).reply?.text ?? '';
    expect(text).toContain('Who may run it: admins.\nYou may not run it: it is for admins.');
    const list = (await run('help', { principal: operator, config: strict })).reply?.text ?? '';
    expect(listed(list)).not.toContain('build');
    expect(config.policy.commands).toEqual({});
  });
});
