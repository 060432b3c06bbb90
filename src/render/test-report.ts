// Renders a test report: one line for the job's status message, several lines for `report <job>`.
import { printable } from '../grammar/echo.ts';
import { type TestCase, type TestCounts, type TestReport, testCounts } from '../reports/test-report.ts';
import { formatDuration } from './duration.ts';

/** The summary line stays under this many UTF-16 code units, whatever the report holds. */
export const SUMMARY_MAX = 299;
const NAME_MAX = 80;
const PROBLEM_MAX = 120;
const LINE_MAX = 120;
const MESSAGE_LINES = 3;
const PROBLEM_LINES = 5;

const FORMAT_NAME = { tap: 'TAP', junit: 'JUnit' } as const;

/** Text on one line: runs of whitespace (newlines, tabs) become one space, other control characters go. */
function oneLine(text: string, max: number): string {
  return printable(text.replace(/\s+/g, ' ').trim(), max);
}

/** Cuts to at most `max` code units without splitting a surrogate pair, ending in … when cut. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const char of text) {
    if (out.length + char.length > max - 1) break;
    out += char;
  }
  return `${out}…`;
}

/** `340 ms`, `48.0 s`, `4:05`. */
export function testDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return formatDuration(ms);
}

function failures(report: TestReport): TestCase[] {
  return report.cases.filter((c) => c.status === 'failed');
}

function counts(report: Pick<TestReport, 'passed' | 'failed' | 'skipped'>): string {
  return `${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`;
}

/** `tests: 14 passed, 1 failed, 2 skipped — failed: sha256 matches SHA256SUMS`, then any problems. */
export function reportSummary(report: TestReport): string {
  return countsSummary(testCounts(report));
}

/** The same line from the numbers the catalog keeps (a lifecycle event's `tests`). */
export function countsSummary(tests: TestCounts): string {
  const parts = [tests.total === 0 ? 'tests: none ran' : `tests: ${counts(tests)}`];
  if (tests.failures.length > 0) {
    const named = tests.failures.map((name) => oneLine(name, NAME_MAX) || '(unnamed)');
    const more = tests.moreFailures;
    parts.push(`failed: ${named.join('; ')}${more > 0 ? ` and ${more} more` : ''}`);
  }
  if (tests.problems.length > 0) {
    parts.push(tests.problems.map((p) => oneLine(p, PROBLEM_MAX)).join('; '));
  }
  return clip(parts.join(' — '), SUMMARY_MAX);
}

/** Up to three lines of a message, each cleaned and cut, the last ending in … when there was more. */
function messageLines(message: string, indent: string): string[] {
  const lines = message
    .split(/\r\n|[\n\r\u2028\u2029]/)
    .map((line) => oneLine(line, LINE_MAX))
    .filter((line) => line !== '');
  const shown = lines.slice(0, MESSAGE_LINES).map((line) => `${indent}${line}`);
  if (lines.length > MESSAGE_LINES && shown.length > 0) shown[shown.length - 1] += ' …';
  return shown;
}

/** The first `max` lines, the last of them saying how many were left out. */
function cut(lines: string[], max: number): string[] {
  if (lines.length <= max) return lines;
  if (max <= 0) return [];
  return [...lines.slice(0, max - 1), `… and ${lines.length - (max - 1)} more lines`];
}

function header(report: TestReport): string {
  const name = `${FORMAT_NAME[report.format] ?? 'test'} report`;
  if (report.total === 0) return `${name}: no tests ran`;
  const took = report.durationMs === undefined ? '' : `, took ${testDuration(report.durationMs)}`;
  return `${name}: ${report.total} test${report.total === 1 ? '' : 's'}, ${counts(report)}${took}`;
}

/**
 * The report for `report <job>`: totals and duration, each failed test with its message, skipped tests with
 * their reasons, then problems; never more than `max` lines. Problems are kept when failures must be cut.
 */
export function reportDetail(report: TestReport, max = 50): string {
  const middle: string[] = [];
  const failed = failures(report);
  const notRun = report.failed - failed.length; // planned tests that never ran count as failed
  if (failed.length > 0 || notRun > 0) {
    middle.push('failed:');
    for (const test of failed) {
      middle.push(`  ${oneLine(test.name, LINE_MAX) || '(unnamed)'}`);
      if (test.message !== undefined) middle.push(...messageLines(test.message, '    '));
    }
    if (notRun > 0) middle.push(`  ${notRun} planned test${notRun === 1 ? '' : 's'} did not run`);
  }
  const skipped = report.cases.filter((c) => c.status === 'skipped');
  if (skipped.length > 0) {
    middle.push('skipped:');
    for (const test of skipped) {
      const reason = test.message === undefined ? '' : oneLine(test.message, LINE_MAX);
      middle.push(`  ${oneLine(test.name, LINE_MAX) || '(unnamed)'}${reason ? ` — ${reason}` : ''}`);
    }
  }
  const problems =
    report.problems.length === 0
      ? []
      : [
          'problems:',
          ...cut(
            report.problems.map((p) => `  ${oneLine(p, LINE_MAX * 2)}`),
            PROBLEM_LINES,
          ),
        ];
  const lines = [header(report), ...cut(middle, max - 1 - problems.length), ...problems];
  return cut(lines, Math.max(1, max)).join('\n');
}
