// Small helpers the benchmarks share (not a benchmark itself: run-all.ts runs only *.bench.ts).
import { setTimeout as sleep } from 'node:timers/promises';

/** The p-th percentile (0–100) of some numbers, nearest rank; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Waits until `performance.now()` reaches `at` (returns at once when it has). */
export async function sleepUntil(at: number): Promise<void> {
  const wait = at - performance.now();
  if (wait > 0) await sleep(wait);
}

/** Milliseconds with one decimal, right-aligned for tables. */
export function ms(value: number, width = 8): string {
  return `${value.toFixed(1)} ms`.padStart(width + 3);
}
