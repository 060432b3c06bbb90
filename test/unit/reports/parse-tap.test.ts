// parseTap over realistic TAP 13/14 fixtures and small inline streams: counts, names, messages, problems.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diagnosticsMessage, parseTap } from '../../../src/reports/parse-tap.ts';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/reports/${name}`, import.meta.url), 'utf8');

describe('parseTap', () => {
  it('reads TAP 13 with YAML diagnostics, SKIP and TODO directives and times', () => {
    const report = parseTap(fixture('image-checks.tap'));
    expect(report).toMatchObject({
      format: 'tap',
      total: 7,
      passed: 4,
      failed: 1,
      skipped: 2,
      durationMs: 48012,
    });
    expect(report.problems).toEqual([]);
    expect(report.cases).toEqual([
      { name: 'image file exists', status: 'passed' },
      { name: 'qcow2 header is valid', status: 'passed' },
      {
        name: 'sha256 matches SHA256SUMS',
        status: 'failed',
        message: 'checksum mismatch for cernvm4-2.6.1-kvm.qcow2\nexpected "3f2a7d11c0e5", got "9b1c4e0d77a2"',
      },
      { name: 'partition table has 2 partitions', status: 'passed' },
      { name: 'boots to a login prompt', status: 'passed', durationMs: 41230 },
      { name: 'cvmfs is mounted', status: 'skipped', message: 'no network in the build sandbox' },
      {
        name: 'serial console shows the kernel version',
        status: 'skipped',
        message: 'todo: kernel does not log to ttyS0 yet',
      },
    ]);
  });

  it('reads node:test TAP 14 subtests: leaf tests by full name, a subtest failing on its own, durations', () => {
    const report = parseTap(fixture('node-test-subtests.tap'));
    expect(report).toMatchObject({ total: 7, passed: 3, failed: 2, skipped: 2, durationMs: 301.7 });
    expect(report.problems).toEqual([]);
    expect(report.cases.map((c) => `${c.status} ${c.name}`)).toEqual([
      'passed image layout > has /boot/vmlinuz',
      'failed image layout > has /etc/cvmfs/default.local',
      'passed network > resolves cern.ch',
      'skipped network > chrony is configured',
      'skipped network > has an IPv6 route',
      'passed mounted image > kernel command line has console=ttyS0',
      'failed mounted image',
    ]);
    const failed = report.cases.filter((c) => c.status === 'failed');
    expect(failed.map((c) => c.message)).toEqual([
      "ENOENT: no such file or directory, open '/mnt/image/etc/cvmfs/default.local'",
      'after hook failed: umount /mnt/image: target is busy',
    ]);
    expect(failed[0]?.durationMs).toBe(0.87);
    // "image layout" failed only because of its subtest: it is not counted a second time.
    expect(report.cases.some((c) => c.name === 'image layout')).toBe(false);
    expect(report.cases.find((c) => c.name === 'network > has an IPv6 route')?.message).toBe('todo');
  });

  it('counts planned tests that never ran as failed', () => {
    const report = parseTap(fixture('plan-mismatch.tap'));
    expect(report).toMatchObject({ total: 8, passed: 5, failed: 3, skipped: 0 });
    expect(report.cases).toHaveLength(6);
    expect(report.problems).toEqual(['plan says 8 tests, 6 ran']);
  });

  it('reports a bail out first, with the tests it left unrun, and ignores what follows it', () => {
    const report = parseTap(fixture('bail-out.tap'));
    expect(report).toMatchObject({ total: 5, passed: 2, failed: 3, skipped: 0 });
    expect(report.cases.map((c) => c.name)).toEqual([
      'download the base image',
      'unpack the root file system',
      'write the raw disk image',
    ]);
    expect(report.cases[2]?.message).toBe('write /var/lib/vmops/work/cernvm4.img: no space left on device');
    expect(report.problems).toEqual(['bail out: disk full', 'plan says 5 tests, 3 ran']);
  });

  it('takes the comment lines after a failed test without diagnostics as its message (bats, Test::More)', () => {
    const report = parseTap(fixture('bats.tap'));
    expect(report).toMatchObject({ total: 3, passed: 2, failed: 1, skipped: 0 });
    expect(report.cases[1]).toEqual({
      name: 'root password is locked',
      status: 'failed',
      message:
        '(in test file test/accounts.bats, line 12)\n`[ "$status" -eq 0 ]\' failed with status 1\npasswd: root P 2024-01-15 0 99999 7 -1',
    });
    const perl = parseTap(
      "1..2\nok 1 - mounts\nnot ok 2 - owner is root\n#   Failed test 'owner is root'\n#   at t/perm.t line 9.\n# Looks like you failed 1 test of 2.\n",
    );
    expect(perl.cases[1]?.message).toBe("Failed test 'owner is root'\nat t/perm.t line 9.");
  });

  it('reads buffered subtests and counts a short subtest plan against it', () => {
    const report = parseTap(
      'TAP version 14\nok 1 - image checks {\n    ok 1 - a\n    not ok 2 - b # TODO\n    1..3\n}\n1..1\n',
    );
    expect(report).toMatchObject({ total: 3, passed: 1, failed: 1, skipped: 1 });
    expect(report.problems).toEqual(['subtest image checks: plan says 3 tests, 2 ran']);
  });

  it('says so when everything was skipped, nothing was there, or the plan is missing or short', () => {
    expect(parseTap('TAP version 14\n1..0 # SKIP no KVM on this runner\n')).toMatchObject({
      total: 0,
      problems: ['all tests skipped: no KVM on this runner'],
    });
    expect(parseTap('').problems).toEqual(['no tests found']);
    expect(parseTap('make: *** [test] Error 2\n').problems).toEqual(['no tests found']);
    expect(parseTap('ok 1 - a\nnot ok 2 - b\n')).toMatchObject({
      total: 2,
      failed: 1,
      problems: ['no plan: the test run may have stopped early'],
    });
    expect(parseTap('1..2\nok 1 - a\nok 2 - b\nok 3 - c\n')).toMatchObject({
      total: 3,
      passed: 3,
      failed: 0,
      problems: ['plan says 2 tests, 3 ran', 'test 3 (c): id greater than plan end'],
    });
  });

  it('names unnamed tests by number and keeps a BOM or CRLF line ends from mattering', () => {
    const report = parseTap('\uFEFFTAP version 13\r\n1..2\r\nok 1\r\nnot ok 2 # skip\r\n');
    expect(report.cases).toEqual([
      { name: 'test 1', status: 'passed' },
      { name: 'test 2', status: 'skipped' },
    ]);
    expect(report.problems).toEqual([]);
  });
});

describe('parseTap on any input', () => {
  it('never throws and keeps its counts consistent', () => {
    const line = fc.oneof(
      fc.constantFrom(
        'TAP version 14',
        '1..3',
        '1..0 # skip',
        'Bail out! no',
        '  ---',
        '  ...',
        '    1..1',
        '}',
      ),
      fc
        .constantFrom('ok', 'not ok', '    ok', '    not ok')
        .chain((p) =>
          fc
            .tuple(fc.nat(5), fc.string(), fc.constantFrom('', ' # SKIP x', ' # TODO', ' {'))
            .map(([id, name, directive]) => `${p} ${id} - ${name}${directive}`),
        ),
      fc.string({ unit: 'binary' }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), (lines) => {
        const report = parseTap(lines.join('\n'));
        expect(report.total).toBe(report.passed + report.failed + report.skipped);
        expect(report.cases.length).toBeLessThanOrEqual(report.total);
      }),
      { numRuns: 300 },
    );
  });
});

describe('diagnosticsMessage', () => {
  it('prefers an error, then a message with expected and got, then expected and got alone', () => {
    expect(
      diagnosticsMessage({ error: 'Expected values to be strictly equal:\n\n1 !== 2\n', expected: 2 }),
    ).toBe('Expected values to be strictly equal:\n\n1 !== 2');
    expect(diagnosticsMessage({ error: { message: 'boom' } })).toBe('boom');
    expect(diagnosticsMessage({ message: 'sizes differ', data: { got: 3, expect: 4 } })).toBe(
      'sizes differ\nexpected 4, got 3',
    );
    expect(diagnosticsMessage({ found: 'ext3', wanted: 'ext4', at: { line: 3 } })).toBe(
      'expected "ext4", got "ext3"',
    );
    expect(diagnosticsMessage({ severity: 'fail' })).toBeUndefined();
    expect(diagnosticsMessage(null)).toBeUndefined();
    expect(diagnosticsMessage('text')).toBeUndefined();
  });

  it('keeps at most 2000 characters of a message', () => {
    const message = diagnosticsMessage({ error: 'x'.repeat(5000) });
    expect(message).toHaveLength(2000);
    expect(message?.endsWith('…')).toBe(true);
  });
});
