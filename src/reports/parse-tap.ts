// Reads a TAP 13/14 stream with tap-parser into a TestReport: directives, YAML diagnostics, subtests, bail out, plan.
import type { FinalResults, Result } from 'tap-parser';
import { Parser } from 'tap-parser';
import { buildReport, keepMessage, type TestCase, type TestReport } from './test-report.ts';

/** Comment lines after a failed test point that are run summaries, not that test's diagnostics. */
const SUMMARY_COMMENT =
  /^(?:(?:tests|suites|pass|fail|cancelled|skipped|skip|todo|duration_ms)\s+[\d.]+|time=|Subtest:|test count\(|Looks like )/i;
/** At most this many comment lines are taken as a failed test's message. */
const MAX_COMMENT_LINES = 20;

type Diagnostics = Record<string, unknown>;

function isRecord(value: unknown): value is Diagnostics {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function errorText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.message === 'string') return value.message;
  return undefined;
}

/** `expected "3f2a", got "9b1c"` from node-tap's wanted/found, node:test's expected/actual or TAP 13's data. */
function comparison(diag: Diagnostics): string | undefined {
  for (const source of [diag, isRecord(diag.data) ? diag.data : {}]) {
    for (const [expected, actual] of [
      ['wanted', 'found'],
      ['expected', 'actual'],
      ['expect', 'got'],
    ] as const) {
      if (expected in source && actual in source) {
        return `expected ${show(source[expected])}, got ${show(source[actual])}`;
      }
    }
  }
  return undefined;
}

/**
 * The failure message in a YAML diagnostics block: node:test's `error` (which already shows both values), or
 * TAP 13's `message` followed by expected vs got, or expected vs got alone.
 */
export function diagnosticsMessage(diag: unknown): string | undefined {
  if (!isRecord(diag)) return undefined;
  const error = errorText(diag.error);
  if (error?.trim()) return keepMessage(error);
  const lines = [errorText(diag.message)?.trim(), comparison(diag)].filter((line) => line);
  return keepMessage(lines.join('\n'));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function caseName(res: Result): string {
  if (res.name.trim() !== '') return res.fullname.trim() || res.name.trim();
  const where = res.fullname.trim();
  return where ? `${where} > test ${res.id}` : `test ${res.id}`;
}

function toCase(res: Result): TestCase {
  const test: TestCase = { name: caseName(res), status: 'passed' };
  if (res.todo !== false) {
    test.status = 'skipped';
    test.message = typeof res.todo === 'string' && res.todo.trim() ? `todo: ${res.todo.trim()}` : 'todo';
  } else if (res.skip !== false) {
    test.status = 'skipped';
    const reason = typeof res.skip === 'string' ? keepMessage(res.skip) : undefined;
    if (reason !== undefined) test.message = reason;
  } else if (!res.ok) {
    test.status = 'failed';
    const message = diagnosticsMessage(res.diag);
    if (message !== undefined) test.message = message;
  }
  if (res.time !== null && Number.isFinite(res.time) && res.time >= 0) test.durationMs = res.time;
  return test;
}

/** Parses TAP text. Never throws: anything wrong with the stream ends up in `problems`. */
export function parseTap(text: string): TestReport {
  const cases: TestCase[] = [];
  const problems: string[] = [];
  let missing = 0;
  let topLevelTime: number | undefined;
  let rootResults: FinalResults | null = null;
  const failing = new WeakSet<Parser>();

  const addProblem = (problem: string): void => {
    if (!problems.includes(problem)) problems.push(problem);
  };
  const markFailing = (from: Parser | null): void => {
    for (let p = from; p !== null; p = p.parent) failing.add(p);
  };

  const attach = (parser: Parser): void => {
    let lastChild: Parser | null = null;
    let waiting: TestCase | null = null; // a failed test without diagnostics: comments after it explain it
    let commentLines: string[] = [];
    const settle = (): void => {
      const message = keepMessage(commentLines.join('\n'));
      if (waiting !== null && message !== undefined) waiting.message = message;
      waiting = null;
      commentLines = [];
    };

    parser.on('child', (child: Parser) => {
      settle();
      lastChild = child;
      attach(child);
    });
    parser.on('plan', settle);
    parser.on('comment', (line: string) => {
      if (waiting === null) return;
      const content = line.replace(/^#\s*/, '').trimEnd();
      if (content === '' || SUMMARY_COMMENT.test(content)) return;
      if (commentLines.length < MAX_COMMENT_LINES) commentLines.push(content);
    });
    parser.on('assert', (res: Result) => {
      settle();
      if (parser.parent === null && res.time !== null && Number.isFinite(res.time)) {
        topLevelTime = (topLevelTime ?? 0) + res.time;
      }
      if (res.closingTestPoint) {
        // A subtest that failed though none of its tests did (a hook, an uncaught error): the subtest is the failure.
        const explained = lastChild !== null && failing.has(lastChild);
        if (!res.ok && res.todo === false && res.skip === false && !explained) {
          const test: TestCase = { name: caseName(res), status: 'failed' };
          const message = diagnosticsMessage(res.diag);
          if (message !== undefined) test.message = message;
          if (res.time !== null && Number.isFinite(res.time) && res.time >= 0) test.durationMs = res.time;
          cases.push(test);
          markFailing(parser);
        }
        return;
      }
      const test = toCase(res);
      cases.push(test);
      if (test.status === 'failed') {
        markFailing(parser);
        if (test.message === undefined) waiting = test;
      }
    });
    parser.on('complete', (results: FinalResults) => {
      settle();
      const root = parser.parent === null;
      if (root) rootResults = results;
      const where = root ? '' : `subtest ${parser.fullname.trim() || '(anonymous)'}: `;
      const { plan, count } = results;
      if (plan.skipAll) {
        if (root && count === 0) {
          const reason = plan.skipReason.replace(/^\s*skip\w*\s*:?/i, '').trim(); // `1..0 # SKIP no KVM here`
          addProblem(
            parser.syntheticPlan ? 'no tests found' : `all tests skipped${reason ? `: ${reason}` : ''}`,
          );
        }
      } else if (plan.start !== null && plan.end !== null) {
        const planned = plan.end - plan.start + 1;
        if (planned !== count) addProblem(`${where}plan says ${plural(planned, 'test')}, ${count} ran`);
        if (count < planned) {
          missing += planned - count;
          markFailing(parser);
        }
      } else if (results.bailout === false && count > 0) {
        addProblem(`${where}no plan: the test run may have stopped early`);
      }
      for (const failure of results.failures) {
        const error = failure.tapError;
        if (typeof error !== 'string' || error === 'incorrect number of tests' || error === 'no plan')
          continue;
        const point =
          'id' in failure && typeof failure.id === 'number'
            ? `test ${failure.id}${typeof failure.name === 'string' && failure.name ? ` (${failure.name})` : ''}: `
            : '';
        addProblem(`${where}${point}${error}`);
      }
    });
  };

  const parser = new Parser();
  attach(parser);
  try {
    parser.end(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    addProblem(`could not read TAP: ${error instanceof Error ? error.message : String(error)}`);
  }
  const results = rootResults as FinalResults | null;
  if (results === null) addProblem('the TAP stream did not complete');
  else if (results.bailout !== false) {
    const reason = typeof results.bailout === 'string' ? results.bailout.trim() : '';
    problems.unshift(reason ? `bail out: ${reason}` : 'bail out');
  }
  const durationMs = results?.time ?? topLevelTime;
  return buildReport('tap', cases, problems, { durationMs, missing });
}
