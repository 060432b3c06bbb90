import { describe, expect, it } from 'vitest';
import { allCommands } from '../../../commands/index.ts';
import type { CommandSpec } from '../../../src/grammar/command-spec.ts';
import { usageLine } from '../../../src/grammar/usage.ts';

const byName = (name: string): CommandSpec => {
  const spec = allCommands.find((candidate) => candidate.name === name);
  if (spec === undefined) throw new Error(`no command ${name}`);
  return spec;
};

describe('usageLine', () => {
  it.each([
    ['build', 'build [product] <version> <format…|all>'],
    ['test', 'test [product] <version> [format…]'],
    ['publish', 'publish [product] <version> [format…]'],
    ['deploy', 'deploy [product] <version> <cloud…> [--launch N] [--context "…"]'],
    ['update', 'update [product] <version>'],
    ['revoke', 'revoke [product] <version> [--reason "…"] [--terminate]'],
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
    ['oncall', 'oncall [change…]'],
    ['whoami', 'whoami'],
    ['login', 'login'],
    ['people', 'people'],
    ['audit', 'audit [what…]'],
    ['help', 'help [command]'],
  ])('%s', (name, line) => {
    expect(usageLine(byName(name))).toBe(line);
  });
});
