// The other benchmarks still run (their numbers are read by people, never asserted): a short run of each.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../../src/app/config-load.ts';

function lastLine(file: string, count: number): string {
  const output = execFileSync(process.execPath, [join(repoRoot, 'test', 'bench', file), String(count)], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return output.trim().split('\n').at(-1) ?? '';
}

it('the ack latency benchmark runs and prints its ratio last', () => {
  expect(lastLine('ack-latency.bench.ts', 30)).toMatch(
    /^ack latency ratio \(vmops p99 \/ raw BullMQ add p99\): \d+\.\d\d$/,
  );
});

it('the progress fan-out benchmark runs, delivers every final state and prints its ratio last', () => {
  // It exits non-zero when a final state is not delivered, which execFileSync turns into a failure.
  expect(lastLine('progress-fanout.bench.ts', 100)).toMatch(
    /^fan-out ratio \(worst final-state staleness \/ its network's min edit interval\): \d+\.\d\d$/,
  );
});

it('the memory benchmark runs and prints its ratio last', () => {
  expect(lastLine('memory.bench.ts', 50)).toMatch(
    /^memory ratio \(vmops \/ raw BullMQ add, Redis used_memory per job\): -?\d+\.\d\d$/,
  );
});

it('the parse-authorize benchmark runs both sides over the same grammar and prints its ratio last', () => {
  expect(lastLine('parse-authorize.bench.ts', 200)).toMatch(
    /^parse-authorize ratio \(vmops \/ Hubot 14\): \d+\.\d\d$/,
  );
});

it('the start-up benchmark runs local mode to its first reply and prints its ratio last', () => {
  expect(lastLine('startup.bench.ts', 1)).toMatch(
    /^startup ratio \(vmops local mode \/ bare script\): \d+\.\d\d$/,
  );
});

it('the burst latency benchmark runs, delivers every final state without a 429 and prints its ratio last', () => {
  expect(lastLine('burst-latency.bench.ts', 20)).toMatch(
    /^burst ratio \(p95 job finished → final state visible \/ the room's min edit interval\): \d+\.\d\d$/,
  );
});
