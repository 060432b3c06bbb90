// parseJunit over Surefire-style nested suites, a pytest report with a bare <testsuite> root, and broken XML.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJunit } from '../../../src/reports/parse-junit.ts';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/reports/${name}`, import.meta.url), 'utf8');

describe('parseJunit', () => {
  it('reads nested suites with failure, error, skipped and times in seconds', () => {
    const report = parseJunit(fixture('surefire-nested.xml'));
    expect(report).toMatchObject({
      format: 'junit',
      total: 6,
      passed: 3,
      failed: 2,
      skipped: 1,
      durationMs: 12843,
    });
    expect(report.problems).toEqual([]);
    expect(report.cases).toEqual([
      {
        name: 'ch.cern.cernvm.ImageTests$Checksums.sha256MatchesSha256Sums',
        status: 'failed',
        message: 'expected: <3f2a7d11c0e5> but was: <9b1c4e0d77a2>',
        durationMs: 301,
      },
      { name: 'ch.cern.cernvm.ImageTests$Checksums.md5FileIsAbsent', status: 'passed', durationMs: 111 },
      { name: 'ch.cern.cernvm.ImageTests$Boot.bootsToLoginPrompt', status: 'passed', durationMs: 11902 },
      {
        name: 'ch.cern.cernvm.ImageTests$Boot.consoleOnTtyS0',
        status: 'failed',
        message: 'serial log /tmp/vmops-serial.log not found',
        durationMs: 529,
      },
      {
        name: 'ch.cern.cernvm.ImageTests$Boot.secureBootEnabled',
        status: 'skipped',
        message: 'no OVMF firmware on the build host',
        durationMs: 0,
      },
      { name: 'ch.cern.cernvm.ImageTests$Boot.cloudInitRuns', status: 'passed', durationMs: 0 },
    ]);
  });

  it('reads a pytest report with a bare <testsuite> root and decodes character references', () => {
    const report = parseJunit(fixture('pytest.xml'));
    expect(report).toMatchObject({ total: 6, passed: 2, failed: 2, skipped: 2, durationMs: 3217 });
    expect(report.cases.map((c) => [c.status, c.name, c.message])).toEqual([
      ['passed', 'tests.test_image.TestChecksums.test_sha256_matches', undefined],
      [
        'failed',
        'tests.test_image.TestChecksums.test_size_under_limit',
        'AssertionError: image is 2147483648 bytes, limit 1073741824\nassert 2147483648 <= 1073741824',
      ],
      ['passed', 'tests.test_boot.test_boots[kvm]', undefined],
      ['skipped', 'tests.test_boot.test_boots[vmware]', 'vmware player not installed'],
      [
        'failed',
        'tests.test_boot.test_serial_console',
        `failed on setup with "fixture 'serial_log' not found"`,
      ],
      ['skipped', 'tests.test_cloud.test_openstack_metadata', 'metadata service mock is flaky'],
    ]);
    expect(report.cases[2]?.durationMs).toBe(2871);
  });

  it('returns a report with only a problem for XML that is not well formed', () => {
    expect(parseJunit(fixture('truncated.xml'))).toEqual({
      format: 'junit',
      total: 0,
      passed: 0,
      failed: 0,
      skipped: 0,
      cases: [],
      problems: [
        "not valid JUnit XML at line 7, column 3: Expected closing tag 'failure' (opened in line 6, col 7) instead of closing tag 'testsuite'",
      ],
    });
    expect(parseJunit('').problems).toEqual(['not valid JUnit XML at line 1: Start tag expected']);
    expect(parseJunit('1..3\nok 1\n').problems[0]).toMatch(/^not valid JUnit XML at line 1, column 1: /);
  });

  it('refuses well-formed XML that is not JUnit, and says when a report has no test cases', () => {
    expect(parseJunit('<html><body/></html>').problems).toEqual([
      'not valid JUnit XML: the root element is <html>, expected <testsuites> or <testsuite>',
    ]);
    expect(parseJunit('<testsuites/>')).toMatchObject({
      total: 0,
      problems: ['no test cases in the report'],
    });
  });

  it('uses the message attribute, else the text, else the type; names without a class name stand alone', () => {
    const report = parseJunit(`<testsuite name="s">
      <testcase name="a"><failure type="AssertionError"/></testcase>
      <testcase name="b" classname="suite with spaces"><error>Traceback: boom</error></testcase>
      <testcase name="smoke.c" classname="smoke"><skipped/></testcase>
      <testcase classname="only.a.class"/>
    </testsuite>`);
    expect(report.cases).toEqual([
      { name: 'a', status: 'failed', message: 'AssertionError' },
      { name: 'suite with spaces > b', status: 'failed', message: 'Traceback: boom' },
      { name: 'smoke.c', status: 'skipped' },
      { name: 'only.a.class', status: 'passed' },
    ]);
    expect(report.durationMs).toBeUndefined();
  });

  it('reads times with thousands separators, ignores unreadable ones, and sums cases without a suite time', () => {
    expect(parseJunit('<testsuite time="1,234.5"><testcase name="a" time="abc"/></testsuite>')).toMatchObject(
      {
        durationMs: 1234500,
        cases: [{ name: 'a', status: 'passed' }],
      },
    );
    expect(
      parseJunit(
        '<testsuites><testsuite><testcase name="a" time="0.25"/><testcase name="b" time="1"/></testsuite></testsuites>',
      ).durationMs,
    ).toBe(1250);
  });

  it('never throws on any input', () => {
    const piece = fc.oneof(
      fc.constantFrom('<testsuites>', '</testsuites>', '<testsuite time="1">', '</testsuite>', '<skipped/>'),
      fc.constantFrom(
        '<testcase name="a">',
        '</testcase>',
        '<failure message="m">',
        '</failure>',
        '&#10;',
        '&lt;',
      ),
      fc.string({ unit: 'binary' }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), (pieces) => {
        const report = parseJunit(pieces.join(''));
        expect(report.total).toBe(report.cases.length);
      }),
      { numRuns: 300 },
    );
  });
});
