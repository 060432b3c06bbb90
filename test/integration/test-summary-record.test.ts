// A test stage's result is kept in the catalog as numbers (and the first failures' names), and the
// line subscribed rooms get is rendered from them when the event is read: the same line the job's
// status message showed. Events written before, with the line stored as text, are still shown.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Catalog, type LifecycleEvent } from '../../src/catalog/catalog.ts';
import { StageLifecycle } from '../../src/catalog/stage-lifecycle.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { renderLifecycleEvent } from '../../src/render/lifecycle-event.ts';
import type { JobData } from '../../src/types.ts';
import { cleanPrefix, redisUrl, testPrefix } from '../helpers/redis.ts';

const undo: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of undo.splice(0).reverse()) await step();
});

const TAP = `TAP version 13
1..5
ok 1 - boots to login:
not ok 2 - sha256 matches SHA256SUMS
ok 3 - cloud-init ran
not ok 4 - kernel is 6.1
ok 5 - # SKIP no network
`;

function testJob(jobId: string): JobData {
  return {
    jobId,
    stage: 'test',
    product: 'cernvm',
    version: '2.6',
    format: 'kvm',
    params: {},
    requestedBy: { person: 'alice', network: 'fake', account: 'alice', displayName: 'Alice' },
    origin: { network: 'fake', room: 'room1', isDirect: false },
    eventKey: `fake:${jobId}`,
    commandText: 'test 2.6 kvm',
    createdAt: Date.now(),
  };
}

describe('test summaries in the catalog', () => {
  it('keeps a test stage as numbers and announces the line the status message showed', async () => {
    const prefix = testPrefix();
    const keys = redisKeys(prefix);
    const redis = new Redis(redisUrl());
    const dir = mkdtempSync(join(tmpdir(), 'vmops-summary-'));
    undo.push(
      () => redis.disconnect(),
      () => cleanPrefix(prefix),
      () => rmSync(dir, { recursive: true, force: true }),
    );
    const report = join(dir, 'report.tap');
    writeFileSync(report, TAP);
    const lifecycle = new StageLifecycle(new Catalog(redis, keys), redis, keys);

    const statusLine = await lifecycle.end(testJob('tsum0001'), {
      ok: true,
      artifacts: [],
      reports: [report],
    });

    const entries = await redis.xrange(keys.lifecycle, '-', '+');
    const stored = JSON.parse(entries[0]?.[1][1] ?? '{}') as LifecycleEvent;
    expect(stored.detail).toBeUndefined();
    expect(stored.tests).toEqual({
      total: 5,
      passed: 2,
      failed: 2,
      skipped: 1,
      failures: ['sha256 matches SHA256SUMS', 'kernel is 6.1'],
      moreFailures: 0,
      problems: [],
    });
    expect(statusLine).toContain('tests: 2 passed, 2 failed, 1 skipped');
    expect(renderLifecycleEvent(stored).text).toBe(
      `❌ cernvm 2.6 kvm failed its tests · job tsum0001 · by alice · ${statusLine}`,
    );
  });
});
