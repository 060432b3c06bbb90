// The benchmarks still run (their numbers are read by people, never asserted): a short run of each.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../../src/app/config-load.ts';

it('the dispatch benchmark runs and prints its ratio last', () => {
  const output = execFileSync(
    process.execPath,
    [join(repoRoot, 'test', 'bench', 'dispatch.bench.ts'), '20'],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  expect(output.trim().split('\n').at(-1)).toMatch(
    /^dispatch ratio \(vmops \/ raw BullMQ add\): \d+\.\d\d one at a time, \d+\.\d\d with 64 in flight$/,
  );
});

it('the Redis commands benchmark counts one build against a raw add and prints its ratio last', () => {
  const output = execFileSync(
    process.execPath,
    [join(repoRoot, 'test', 'bench', 'redis-commands.bench.ts'), '2'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  expect(output).toContain('raw BullMQ add:   1 command(s) sent in 1 round trip(s)');
  expect(output.trim().split('\n').at(-1)).toMatch(
    /^redis commands ratio \(vmops hot path \/ raw BullMQ add, commands sent\): \d+\.\d\d; round trips: \d+\.\d\d$/,
  );
});
