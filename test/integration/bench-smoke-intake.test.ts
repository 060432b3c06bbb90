// The intake burst benchmark still runs (its numbers are read by people, never asserted): a short run.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../../src/config-load.ts';

it('the intake burst benchmark runs and prints its ratio last', () => {
  const output = execFileSync(
    process.execPath,
    [join(repoRoot, 'test', 'bench', 'intake-burst.bench.ts'), '20'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  expect(output.trim().split('\n').at(-1)).toMatch(
    /^intake burst ratio \(vmops p95 command → job queued \/ raw BullMQ add p95\): \d+\.\d\d$/,
  );
});
