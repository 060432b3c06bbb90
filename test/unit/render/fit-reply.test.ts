import { describe, expect, it } from 'vitest';
import { fitReply } from '../../../src/render/fit-reply.ts';
import type { JobStatusView, Reply } from '../../../src/types.ts';

const status: JobStatusView = {
  jobId: 'abcd2345',
  stage: 'test',
  product: 'cernvm',
  version: '2.6',
  format: 'kvm',
  state: 'failed',
  percent: 100,
  requestedBy: 'alice',
  createdAt: 0,
  attempts: 1,
};

describe('fitReply', () => {
  it('leaves a reply that fits alone', () => {
    const reply: Reply = { text: 'short', tone: 'info' };
    expect(fitReply(reply, { maxMessageLength: 5 })).toBe(reply);
  });

  it('cuts a long reply to the limit and says how much is missing', () => {
    const fitted = fitReply({ text: 'x'.repeat(500), tone: 'info' }, { maxMessageLength: 100 });
    expect(Array.from(fitted.text)).toHaveLength(100);
    const left = Number(/\((\d+) more characters not shown\)$/.exec(fitted.text)?.[1]);
    expect(fitted.text.indexOf('\n') + left).toBe(500);
  });

  it("points a job's status message to `log <job>` for the whole text", () => {
    const text = `❌ ${'failure detail '.repeat(40)}`;
    const fitted = fitReply({ text, tone: 'error', status }, { maxMessageLength: 120 });
    expect(Array.from(fitted.text).length).toBeLessThanOrEqual(120);
    expect(fitted.text).toMatch(/\n… \(\d+ more characters; `log abcd2345` shows everything\)$/);
    expect(fitted.status).toBe(status);
    const left = Number(/\((\d+) more/.exec(fitted.text)?.[1]);
    expect(Array.from(fitted.text.split('\n…')[0] ?? '').length + left).toBe(Array.from(text).length);
  });
});
