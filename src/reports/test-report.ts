// What a recipe's test stage reported: counts, duration, each test's outcome, and what looked wrong with the report.

export type TestStatus = 'passed' | 'failed' | 'skipped';

export interface TestCase {
  name: string;
  status: TestStatus;
  /** Why it failed (assertion message) or why it was skipped. */
  message?: string;
  durationMs?: number;
}

export interface TestReport {
  format: 'tap' | 'junit';
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  durationMs?: number;
  cases: TestCase[];
  /** Things wrong with the run or the file: "plan says 8 tests, 6 ran", "bail out: disk full". */
  problems: string[];
}

/** Longest message kept per test: stack traces and dumps are cut here, renderers cut further. */
export const MAX_MESSAGE_CHARS = 2000;

/** Keeps a message short enough to store; undefined for an empty one. */
export function keepMessage(text: string | undefined): string | undefined {
  const trimmed = text?.trim();
  if (!trimmed) return undefined;
  const chars = Array.from(trimmed);
  return chars.length <= MAX_MESSAGE_CHARS ? trimmed : `${chars.slice(0, MAX_MESSAGE_CHARS - 1).join('')}…`;
}

/**
 * Builds a report from its cases. `missing` tests (planned but never run) count as failed without a case
 * of their own; the problems say why.
 */
export function buildReport(
  format: TestReport['format'],
  cases: TestCase[],
  problems: string[],
  options: { durationMs?: number | undefined; missing?: number } = {},
): TestReport {
  let passed = 0;
  let failed = options.missing ?? 0;
  let skipped = 0;
  for (const c of cases) {
    if (c.status === 'passed') passed++;
    else if (c.status === 'failed') failed++;
    else skipped++;
  }
  const report: TestReport = {
    format,
    total: passed + failed + skipped,
    passed,
    failed,
    skipped,
    cases,
    problems,
  };
  const duration = options.durationMs;
  if (duration !== undefined && Number.isFinite(duration) && duration >= 0) report.durationMs = duration;
  return report;
}

/** A report with no tests, only a reason. */
export function emptyReport(format: TestReport['format'], problem: string): TestReport {
  return buildReport(format, [], [problem]);
}

/** How many failing tests a summary names; the rest are counted. */
const NAMED_FAILURES = 3;

/**
 * A test report as the catalog keeps it for later announcements: numbers, the first failures' names
 * and the report's problems; the summary line is rendered from them when read (render/test-report.ts).
 */
export interface TestCounts {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  /** Names of the first failing tests (at most three). */
  failures: string[];
  /** Failing tests beyond those named. */
  moreFailures: number;
  problems: string[];
}

export function testCounts(report: TestReport): TestCounts {
  const failed = report.cases.filter((c) => c.status === 'failed');
  const failures = failed.slice(0, NAMED_FAILURES).map((c) => c.name);
  return {
    total: report.total,
    passed: report.passed,
    failed: report.failed,
    skipped: report.skipped,
    failures,
    moreFailures: Math.max(report.failed, failed.length) - failures.length,
    problems: [...report.problems],
  };
}
