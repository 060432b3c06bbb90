// What the room sees of a test report: the one-line summary and the `report <job>` detail, exactly.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reportDetail, reportSummary, SUMMARY_MAX, testDuration } from '../../../src/render/test-report.ts';
import { parseJunit } from '../../../src/reports/parse-junit.ts';
import { parseTap } from '../../../src/reports/parse-tap.ts';
import type { TestCase, TestReport } from '../../../src/reports/test-report.ts';
import { buildReport } from '../../../src/reports/test-report.ts';

const text = (name: string): string =>
  readFileSync(new URL(`../../fixtures/reports/${name}`, import.meta.url), 'utf8');
const tap = (name: string): TestReport => parseTap(text(name));
const junit = (name: string): TestReport => parseJunit(text(name));

const failing = (n: number, name = (i: number) => `test ${i}`): TestCase[] =>
  Array.from({ length: n }, (_, i) => ({ name: name(i + 1), status: 'failed', message: `reason ${i + 1}` }));

describe('reportSummary', () => {
  it('gives the counts and names the failures', () => {
    expect(reportSummary(tap('image-checks.tap'))).toBe(
      'tests: 4 passed, 1 failed, 2 skipped — failed: sha256 matches SHA256SUMS',
    );
    expect(reportSummary(tap('node-test-subtests.tap'))).toBe(
      'tests: 3 passed, 2 failed, 2 skipped — failed: image layout > has /etc/cvmfs/default.local; mounted image',
    );
    expect(reportSummary(junit('pytest.xml'))).toBe(
      'tests: 2 passed, 2 failed, 2 skipped — failed: tests.test_image.TestChecksums.test_size_under_limit; tests.test_boot.test_serial_console',
    );
  });

  it('counts tests that did not run among the failures and adds the problems', () => {
    expect(reportSummary(tap('plan-mismatch.tap'))).toBe(
      'tests: 5 passed, 3 failed, 0 skipped — failed: manifest sha256 of cernvm4.ovf matches and 2 more — plan says 8 tests, 6 ran',
    );
    expect(reportSummary(tap('bail-out.tap'))).toBe(
      'tests: 2 passed, 3 failed, 0 skipped — failed: write the raw disk image and 2 more — bail out: disk full; plan says 5 tests, 3 ran',
    );
  });

  it('says when nothing ran, and why', () => {
    expect(reportSummary(tap('bats.tap'))).toBe(
      'tests: 2 passed, 1 failed, 0 skipped — failed: root password is locked',
    );
    expect(reportSummary(junit('truncated.xml'))).toBe(
      "tests: none ran — not valid JUnit XML at line 7, column 3: Expected closing tag 'failure' (opened in line 6, col 7) instead of closing ta…",
    );
    expect(
      reportSummary(buildReport('tap', [], ['report file /srv/vmops/jobs/k3x9q2ab/tests.tap not found'])),
    ).toBe('tests: none ran — report file /srv/vmops/jobs/k3x9q2ab/tests.tap not found');
    expect(reportSummary(buildReport('tap', [], []))).toBe('tests: none ran');
  });

  it('names at most three failures, each cut to 80 characters with control characters escaped', () => {
    const cases = failing(5, (i) => (i === 1 ? `boot\u001b[31m\nlog ${'x'.repeat(100)}` : `check ${i}`));
    const line = reportSummary(buildReport('junit', cases, []));
    expect(line).toBe(
      `tests: 0 passed, 5 failed, 0 skipped — failed: boot\\x1b[31m log ${'x'.repeat(62)}…; check 2; check 3 and 2 more`,
    );
  });

  it('never throws, stays on one line and under 300 characters, whatever the report holds', () => {
    const testCase = fc.record(
      {
        name: fc.string({ unit: 'binary', maxLength: 400 }),
        status: fc.constantFrom('passed', 'failed', 'skipped'),
        message: fc.string({ unit: 'binary', maxLength: 400 }),
        durationMs: fc.double(),
      },
      { requiredKeys: ['name', 'status'] },
    );
    const report = fc.record(
      {
        format: fc.constantFrom('tap', 'junit'),
        total: fc.integer(),
        passed: fc.integer(),
        failed: fc.integer(),
        skipped: fc.integer(),
        durationMs: fc.double(),
        cases: fc.array(testCase, { maxLength: 12 }),
        problems: fc.array(fc.string({ unit: 'binary', maxLength: 300 }), { maxLength: 6 }),
      },
      { requiredKeys: ['format', 'total', 'passed', 'failed', 'skipped', 'cases', 'problems'] },
    );
    fc.assert(
      fc.property(report, (r) => {
        const line = reportSummary(r as TestReport);
        expect(line.length).toBeLessThan(300);
        expect(line.length).toBeLessThanOrEqual(SUMMARY_MAX);
        expect(line).not.toMatch(/[\p{Cc}\u2028\u2029]/u);
        expect(line.isWellFormed()).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('reportDetail', () => {
  it('lists totals and duration, failures with their messages, and skipped tests with their reasons', () => {
    expect(reportDetail(tap('image-checks.tap'))).toBe(
      [
        'TAP report: 7 tests, 4 passed, 1 failed, 2 skipped, took 48.0 s',
        'failed:',
        '  sha256 matches SHA256SUMS',
        '    checksum mismatch for cernvm4-2.6.1-kvm.qcow2',
        '    expected "3f2a7d11c0e5", got "9b1c4e0d77a2"',
        'skipped:',
        '  cvmfs is mounted — no network in the build sandbox',
        '  serial console shows the kernel version — todo: kernel does not log to ttyS0 yet',
      ].join('\n'),
    );
    expect(reportDetail(junit('surefire-nested.xml'))).toBe(
      [
        'JUnit report: 6 tests, 3 passed, 2 failed, 1 skipped, took 12.8 s',
        'failed:',
        '  ch.cern.cernvm.ImageTests$Checksums.sha256MatchesSha256Sums',
        '    expected: <3f2a7d11c0e5> but was: <9b1c4e0d77a2>',
        '  ch.cern.cernvm.ImageTests$Boot.consoleOnTtyS0',
        '    serial log /tmp/vmops-serial.log not found',
        'skipped:',
        '  ch.cern.cernvm.ImageTests$Boot.secureBootEnabled — no OVMF firmware on the build host',
      ].join('\n'),
    );
  });

  it('says how many planned tests did not run and ends with the problems', () => {
    expect(reportDetail(tap('bail-out.tap'))).toBe(
      [
        'TAP report: 5 tests, 2 passed, 3 failed, 0 skipped',
        'failed:',
        '  write the raw disk image',
        '    write /var/lib/vmops/work/cernvm4.img: no space left on device',
        '  2 planned tests did not run',
        'problems:',
        '  bail out: disk full',
        '  plan says 5 tests, 3 ran',
      ].join('\n'),
    );
    expect(reportDetail(junit('truncated.xml'))).toBe(
      [
        'JUnit report: no tests ran',
        'problems:',
        "  not valid JUnit XML at line 7, column 3: Expected closing tag 'failure' (opened in line 6, col 7) instead of closing tag 'testsuite'",
      ].join('\n'),
    );
  });

  it('shows three lines of a long message, cut and cleaned', () => {
    const message = ['first\tline', '', `second ${'y'.repeat(200)}`, 'third', 'fourth'].join('\n');
    const report = buildReport('tap', [{ name: 'pkg\u0007 list', status: 'failed', message }], [], {
      durationMs: 340,
    });
    expect(reportDetail(report)).toBe(
      [
        'TAP report: 1 test, 0 passed, 1 failed, 0 skipped, took 340 ms',
        'failed:',
        '  pkg\\x07 list',
        '    first line',
        `    second ${'y'.repeat(112)}…`,
        '    third …',
      ].join('\n'),
    );
  });

  it('cuts past max lines, keeping the problems', () => {
    const report = buildReport('junit', failing(30), ['plan says 40 tests, 30 ran']);
    const detail = reportDetail(report, 10);
    expect(detail.split('\n')).toEqual([
      'JUnit report: 30 tests, 0 passed, 30 failed, 0 skipped',
      'failed:',
      '  test 1',
      '    reason 1',
      '  test 2',
      '    reason 2',
      '  test 3',
      '… and 55 more lines',
      'problems:',
      '  plan says 40 tests, 30 ran',
    ]);
    expect(reportDetail(report).split('\n')).toHaveLength(50);
    expect(reportDetail(report, 1)).toBe('… and 3 more lines');
  });

  it('never gives more than max lines', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.string({ maxLength: 20 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 60 }),
        (failures, problems, max) => {
          const report = buildReport('tap', failing(failures), problems);
          expect(reportDetail(report, max).split('\n').length).toBeLessThanOrEqual(max);
        },
      ),
    );
  });
});

describe('testDuration', () => {
  it('reads in milliseconds, seconds, or minutes', () => {
    expect([testDuration(0.4), testDuration(999), testDuration(48_012), testDuration(245_000)]).toEqual([
      '0 ms',
      '999 ms',
      '48.0 s',
      '4:05',
    ]);
  });
});
