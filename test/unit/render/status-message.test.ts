import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../../src/render/duration.ts';
import { progressBar, renderStatus } from '../../../src/render/status-message.ts';
import type { JobStatusView } from '../../../src/types.ts';

const base: JobStatusView = {
  jobId: 'abcd2345-kvm',
  stage: 'build',
  product: 'cernvm',
  version: '2.6',
  format: 'kvm',
  state: 'queued',
  percent: 0,
  requestedBy: 'alice',
  createdAt: 1_000_000,
  attempts: 0,
};

describe('status message', () => {
  it('shows a queued job with its id and who asked', () => {
    expect(renderStatus(base, 1_000_000).text).toBe(
      '⏳ build cernvm 2.6 kvm · job abcd2345-kvm · queued · asked by alice',
    );
  });

  it('shows step n of m, its name, a bar and the elapsed time while running', () => {
    const view: JobStatusView = {
      ...base,
      state: 'running',
      step: 2,
      steps: 3,
      stepName: 'assemble',
      percent: 55,
      startedAt: 1_000_000,
      message: 'writing disk',
      attempts: 1,
    };
    expect(renderStatus(view, 1_065_000).text).toBe(
      '▶️ build cernvm 2.6 kvm · job abcd2345-kvm · step 2/3 assemble [######....] 55% · 1:05 · writing disk · asked by alice',
    );
  });

  it('ends with how it ended and how long it took', () => {
    const done = {
      ...base,
      state: 'succeeded' as const,
      startedAt: 1_000_000,
      finishedAt: 1_007_400,
      attempts: 1,
    };
    expect(renderStatus(done, 2_000_000).text).toBe(
      '✅ build cernvm 2.6 kvm · job abcd2345-kvm · succeeded in 0:07 · asked by alice',
    );
    const failed = { ...done, state: 'failed' as const, error: 'step 2/3 assemble failed with exit code 3' };
    expect(renderStatus(failed, 2_000_000).text).toContain(
      'failed after 0:07: step 2/3 assemble failed with exit code 3 · log abcd2345-kvm for details',
    );
    expect(renderStatus(failed, 0).tone).toBe('error');
  });

  it('says when a job is on a later attempt', () => {
    expect(renderStatus({ ...base, attempts: 2 }, 0).text).toContain('attempt 2');
  });

  it('formats bars and durations', () => {
    expect(progressBar(0)).toBe('[..........] 0%');
    expect(progressBar(100)).toBe('[##########] 100%');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
    expect(formatDuration(59_400)).toBe('0:59');
  });
});
