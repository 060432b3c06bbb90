// readReport: format by content or extension, a missing or unreadable file, and the 5 MB cap.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { detectFormat, MAX_REPORT_BYTES, readReport } from '../../../src/reports/read-report.ts';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../fixtures/reports/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vmops-reports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readReport', () => {
  it('reads TAP and JUnit fixtures by their extension and content', async () => {
    expect(await readReport(fixture('image-checks.tap'))).toMatchObject({
      format: 'tap',
      total: 7,
      failed: 1,
    });
    expect(await readReport(fixture('surefire-nested.xml'))).toMatchObject({
      format: 'junit',
      total: 6,
      failed: 2,
    });
  });

  it('goes by content when the extension says nothing or the wrong thing', async () => {
    const xmlAsLog = join(dir, 'results.log');
    copyFileSync(fixture('pytest.xml'), xmlAsLog);
    expect(await readReport(xmlAsLog)).toMatchObject({ format: 'junit', total: 6 });
    const tapAsXml = join(dir, 'tap-output.xml');
    copyFileSync(fixture('bail-out.tap'), tapAsXml);
    expect(await readReport(tapAsXml)).toMatchObject({ format: 'tap', total: 5 });
  });

  it('says a missing file is not found, and a directory is no report', async () => {
    const missing = join(dir, 'nope', 'results.xml');
    expect(await readReport(missing)).toEqual({
      format: 'junit',
      total: 0,
      passed: 0,
      failed: 0,
      skipped: 0,
      cases: [],
      problems: [`report file ${missing} not found`],
    });
    const folder = join(dir, 'a-directory.tap');
    mkdirSync(folder);
    const report = await readReport(folder);
    expect(report).toMatchObject({ format: 'tap', total: 0 });
    expect(report.problems).toEqual([`report file ${folder} is a directory`]);
  });

  it('reads only the first 5 MB of an oversized TAP file, up to its last whole line', async () => {
    const lines = ['TAP version 13\n', '1..120000\n'];
    for (let i = 1; i <= 120_000; i++) lines.push(`ok ${i} - block ${i} reads back the same bytes\n`);
    const text = lines.join('');
    const path = join(dir, 'huge.tap');
    writeFileSync(path, text);
    let fitting = 0; // test lines that end within the first 5 MB
    let end = lines[0]?.length ?? 0;
    for (const line of lines.slice(1)) {
      end += line.length;
      if (end > MAX_REPORT_BYTES) break;
      if (line.startsWith('ok')) fitting++;
    }
    expect(text.length).toBeGreaterThan(MAX_REPORT_BYTES);
    const report = await readReport(path);
    expect(report).toMatchObject({ total: 120_000, passed: fitting, failed: 120_000 - fitting });
    expect(report.problems).toEqual([
      `report file is ${(text.length / 2 ** 20).toFixed(1)} MB, over the 5.0 MB limit: only the first 5.0 MB was read`,
      `plan says 120000 tests, ${fitting} ran`,
    ]);
  });

  it('refuses an oversized XML file rather than read half of it', async () => {
    const path = join(dir, 'huge.xml');
    writeFileSync(path, `<testsuite>${'<testcase name="t"/>'.repeat(300_000)}</testsuite>`);
    expect(await readReport(path)).toMatchObject({
      format: 'junit',
      total: 0,
      problems: ['report file is 5.7 MB, over the 5.0 MB limit: not read'],
    });
  });
});

describe('detectFormat', () => {
  it('trusts a telling start over the extension, and the extension over nothing', () => {
    expect(detectFormat('r.txt', '<?xml version="1.0"?><testsuites/>')).toBe('junit');
    expect(detectFormat('r.tap', '\uFEFF  <testsuite/>')).toBe('junit');
    expect(detectFormat('r.xml', 'TAP version 14\n')).toBe('tap');
    expect(detectFormat('r.xml', '1..4\n')).toBe('tap');
    expect(detectFormat('r.xml', 'not ok 1\n')).toBe('tap');
    expect(detectFormat('r.XML', '')).toBe('junit');
    expect(detectFormat('r.out', '# starting\n')).toBe('tap');
  });
});
