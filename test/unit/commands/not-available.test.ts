// Commands whose grammar is ready but whose work comes later: arguments checked, then not_available.
import { describe, expect, it } from 'vitest';
import type { VmopsError } from '../../../src/errors.ts';
import { fakeJobs, person, run } from './fake-context.ts';

describe('commands not available yet', () => {
  it.each([
    ['approve r-7f3k', 'approve'],
    ['deny r-7f3k not now', 'deny'],
    ['pending', 'pending'],
    ['oncall', 'oncall'],
  ])('%s parses, then answers not_available', async (text, name) => {
    const jobs = fakeJobs();
    let error: VmopsError | undefined;
    try {
      await run(text, { jobs: jobs.control, principal: person('root', ['admin']) });
    } catch (thrown) {
      error = thrown as VmopsError;
    }
    expect(error?.code).toBe('not_available');
    expect(error?.message).toBe(`${name} is not available yet in this version of vmops`);
    expect(jobs.calls).toEqual([]);
  });
});
