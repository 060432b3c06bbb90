// The one-line announcement of a lifecycle event that subscribed rooms get.
import { describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../../../src/catalog/catalog.ts';
import { renderLifecycleEvent } from '../../../src/render/lifecycle-event.ts';

const base: LifecycleEvent = {
  event: 'built',
  product: 'cernvm',
  version: '2.6',
  format: 'kvm',
  stage: 'build',
  job: 'abcd2345',
  by: 'alice',
  at: 1_000,
};

const text = (change: Partial<LifecycleEvent>) => renderLifecycleEvent({ ...base, ...change }).text;

describe('lifecycle event announcement', () => {
  it('names the image, the job and who ran it', () => {
    expect(renderLifecycleEvent(base)).toEqual({
      text: '📦 cernvm 2.6 kvm built · job abcd2345 · by alice',
      tone: 'ok',
    });
  });

  it('adds the test summary to passed and failed tests, and tells a failed build from a failed test', () => {
    expect(text({ event: 'passed', stage: 'test', detail: 'tests: 11 passed, 0 failed, 0 skipped' })).toBe(
      '✅ cernvm 2.6 kvm passed its tests · job abcd2345 · by alice · tests: 11 passed, 0 failed, 0 skipped',
    );
    expect(text({ event: 'failed', stage: 'test', detail: 'tests: 9 passed, 2 failed, 0 skipped' })).toBe(
      '❌ cernvm 2.6 kvm failed its tests · job abcd2345 · by alice · tests: 9 passed, 2 failed, 0 skipped',
    );
    expect(text({ event: 'failed', detail: 'step 2/3 assemble failed with exit code 1' })).toBe(
      '❌ cernvm 2.6 kvm failed to build · job abcd2345 · by alice · step 2/3 assemble failed with exit code 1',
    );
    expect(renderLifecycleEvent({ ...base, event: 'failed' }).tone).toBe('error');
  });

  it('renders a test stage from the numbers it keeps, and still shows an older event whose line was stored', () => {
    const tests = {
      total: 16,
      passed: 11,
      failed: 5,
      skipped: 0,
      failures: ['boots\u001b[2J to login:', 'sha256 matches', 'cloud-init ran'],
      moreFailures: 2,
      problems: ['plan said 17, 16 ran'],
    };
    expect(text({ event: 'failed', stage: 'test', tests })).toBe(
      '❌ cernvm 2.6 kvm failed its tests · job abcd2345 · by alice · tests: 11 passed, 5 failed, 0 skipped — ' +
        'failed: boots\\x1b[2J to login:; sha256 matches; cloud-init ran and 2 more — plan said 17, 16 ran',
    );
    const passed = { ...tests, passed: 16, failed: 0, failures: [], moreFailures: 0, problems: [] };
    expect(text({ event: 'passed', stage: 'test', tests: passed })).toBe(
      '✅ cernvm 2.6 kvm passed its tests · job abcd2345 · by alice · tests: 16 passed, 0 failed, 0 skipped',
    );
    // Written before the numbers were kept: the stored line is shown as it is.
    expect(text({ event: 'passed', stage: 'test', detail: 'tests: 11 passed, 0 failed, 0 skipped' })).toBe(
      '✅ cernvm 2.6 kvm passed its tests · job abcd2345 · by alice · tests: 11 passed, 0 failed, 0 skipped',
    );
  });

  it('puts the reason of a revocation right after who revoked it', () => {
    const revoked = { event: 'revoked', stage: 'revoke', version: '2.5', by: 'bob' } as const;
    const { format: _format, ...version } = { ...base, ...revoked };
    expect(renderLifecycleEvent({ ...version, detail: 'CVE-2026-0001 in openssl' }).text).toBe(
      '🚫 cernvm 2.5 revoked by bob: CVE-2026-0001 in openssl · job abcd2345',
    );
    expect(renderLifecycleEvent({ ...version, detail: '' }).text).toBe(
      '🚫 cernvm 2.5 revoked by bob (no reason given) · job abcd2345',
    );
  });

  it('names the cloud of a deployment and the number of an update', () => {
    const { format: _format, ...version } = base;
    expect(
      renderLifecycleEvent({ ...version, event: 'deployed', stage: 'deploy', cloud: 'local' }).text,
    ).toBe('🚀 cernvm 2.6 deployed on local · job abcd2345 · by alice');
    expect(
      renderLifecycleEvent({ ...version, event: 'updated', stage: 'update', detail: 'update 2' }).text,
    ).toBe('🔄 cernvm 2.6 updated · job abcd2345 · by alice · update 2');
    expect(text({ event: 'published', stage: 'publish' })).toBe(
      '📣 cernvm 2.6 kvm published · job abcd2345 · by alice',
    );
  });

  it('shows text from people and steps on one line, control and bidi characters escaped, cut short', () => {
    const reason = `line one\nline two\u202E\u0007 ${'x'.repeat(400)}`;
    const { format: _format, ...version } = { ...base, event: 'revoked' as const, by: 'bob' };
    const out = renderLifecycleEvent({ ...version, detail: reason }).text;
    expect(out.startsWith('🚫 cernvm 2.6 revoked by bob: line one line two\\u202e\\x07 x')).toBe(true);
    for (const bad of ['\n', '\u202E', '\u0007']) expect(out).not.toContain(bad);
    expect(out.length).toBeLessThan(400);
    expect(out).toContain('… · job abcd2345');
  });
});
