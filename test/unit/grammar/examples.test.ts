// Every example in every command's help must parse as that command, and the default policy must match the design.
import { describe, expect, it } from 'vitest';
import { allCommands } from '../../../commands/index.ts';
import { parse } from './parse-fixture.ts';

describe('command examples', () => {
  for (const spec of allCommands) {
    it(`${spec.name}: every example parses as ${spec.name} (or help)`, () => {
      expect(spec.examples.length).toBeGreaterThan(0);
      for (const example of spec.examples) {
        const result = parse(example);
        expect(result.ok ? result.value.spec.name : result.error.message).toBe(spec.name);
      }
    });
  }
});

describe('default policy', () => {
  it('gives each command the access the design names', () => {
    const access = Object.fromEntries(allCommands.map((spec) => [spec.name, spec.access]));
    expect(access).toEqual({
      build: 'operator',
      test: 'operator',
      publish: 'operator',
      deploy: 'operator',
      update: 'operator',
      revoke: 'operator',
      images: 'known',
      clouds: 'known',
      jobs: 'known',
      status: 'known',
      log: 'known',
      report: 'known',
      cancel: 'operator',
      retry: 'operator',
      approve: 'approver',
      deny: 'approver',
      withdraw: 'operator',
      pending: 'known',
      agents: 'known',
      subscribe: 'operator',
      unsubscribe: 'operator',
      oncall: 'anyone',
      whoami: 'anyone',
      login: 'known',
      expunge: 'admin',
      people: 'admin',
      audit: 'admin',
      help: 'anyone',
    });
  });
});
