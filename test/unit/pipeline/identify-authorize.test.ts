import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/app/config-load.ts';
import type { CommandSpec } from '../../../src/grammar/command-spec.ts';
import { authorize, mayRun } from '../../../src/people/authorize.ts';
import { identitiesFromConfig } from '../../../src/people/identify.ts';

const config = loadConfig();
const identify = identitiesFromConfig(config.people);
const sender = (id: string, displayName = id) => ({ id, displayName, isBot: false, isSelf: false });
const spec = (name: string, access: CommandSpec['access']): CommandSpec => ({
  name,
  summary: '',
  examples: [],
  access,
  args: [],
  run: async () => ({}),
});

describe('identify', () => {
  it('maps a listed account to its person and roles', () => {
    const p = identify('shell', sender('bob'));
    expect(p).toMatchObject({ id: 'bob', known: true, roles: ['operator', 'approver'] });
  });

  it('compares XMPP JIDs without case, other networks exactly, and never matches an occupant JID', () => {
    const people = identitiesFromConfig({
      alice: { roles: ['operator'], accounts: { xmpp: 'Alice@Example.org', shell: 'alice' } },
    });
    expect(people('xmpp', sender('alice@example.org')).id).toBe('alice');
    expect(people('xmpp', sender('ops@conference.example.org/alice')).known).toBe(false);
    expect(people('shell', sender('Alice')).known).toBe(false);
  });

  it('makes a sender the network hides a guest, even when its id is listed as an account', () => {
    const people = identitiesFromConfig({
      alice: { roles: ['operator'], accounts: { xmpp: 'ops@conference.example.org/alice' } },
    });
    const hidden = { ...sender('ops@conference.example.org/alice'), hiddenBecause: 'the room is anonymous' };
    expect(people('xmpp', hidden)).toMatchObject({ known: false, roles: [] });
    expect(people('xmpp', sender('ops@conference.example.org/alice')).known).toBe(true);
  });

  it('never uses the display name: an unknown account named like an operator is a guest', () => {
    const p = identify('shell', sender('mallory', 'alice'));
    expect(p.known).toBe(false);
    expect(p.id).toBe('guest:shell:mallory');
    expect(p.roles).toEqual([]);
  });

  it('keeps accounts per network: alice on shell is not alice on another network', () => {
    expect(identify('slack', sender('alice')).known).toBe(false);
  });
});

describe('authorize', () => {
  it('lets an operator build and refuses a viewer, naming the role and how to get it', () => {
    const build = spec('build', 'operator');
    expect(() => authorize(identify('shell', sender('alice')), build, config.policy)).not.toThrow();
    expect(() => authorize(identify('shell', sender('carol')), build, config.policy)).toThrow(
      'build needs the operator role: you (carol) have the roles viewer; an admin can add it under people.carol.roles.',
    );
  });

  it('tells a guest that their account is not listed', () => {
    expect(() =>
      authorize(identify('shell', sender('mallory')), spec('jobs', 'known'), config.policy),
    ).toThrow(
      'jobs needs a person listed in the vmops config: your shell account mallory is not listed in the vmops config, so you are a guest.',
    );
  });

  it('lets admins run everything and anyone run anyone-commands', () => {
    const root = identify('shell', sender('root'));
    expect(mayRun(root, 'approver')).toBe(true);
    expect(mayRun(identify('shell', sender('nobody')), 'anyone')).toBe(true);
    expect(mayRun(identify('shell', sender('nobody')), 'known')).toBe(false);
  });

  it('applies policy overrides from config', () => {
    const policy = { commands: { build: 'admin' as const } };
    expect(() => authorize(identify('shell', sender('alice')), spec('build', 'operator'), policy)).toThrow(
      /needs the admin role/,
    );
  });
});

describe('role hierarchy', () => {
  const person = (roles: ('viewer' | 'operator' | 'approver' | 'admin')[]) => ({
    id: 'p',
    known: true,
    roles,
    account: { network: 'shell', id: 'p' },
    displayName: 'p',
  });

  it('lets operators and approvers do what viewers may, but not each other’s work', () => {
    expect(mayRun(person(['operator']), 'viewer')).toBe(true);
    expect(mayRun(person(['approver']), 'viewer')).toBe(true);
    expect(mayRun(person(['operator']), 'approver')).toBe(false);
    expect(mayRun(person(['approver']), 'operator')).toBe(false);
    expect(mayRun(person(['viewer']), 'operator')).toBe(false);
    expect(mayRun(person([]), 'viewer')).toBe(false);
    expect(mayRun(person([]), 'known')).toBe(true);
  });
});
