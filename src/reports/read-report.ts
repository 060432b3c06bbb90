// Reads the test stage's report file, TAP or JUnit XML by content or extension, at most 5 MB of it.
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { emptyReport, type TestReport } from './test-report.ts';

// The parsers (tap-parser, fast-xml-parser) are loaded when a report is read, not when a worker starts.
async function parseTap(text: string): Promise<TestReport> {
  return (await import('./parse-tap.ts')).parseTap(text);
}

async function parseJunit(text: string): Promise<TestReport> {
  return (await import('./parse-junit.ts')).parseJunit(text);
}

export const MAX_REPORT_BYTES = 5 * 1024 * 1024;

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The format the text is in: its start when that is telling, else the file's extension, else TAP. */
export function detectFormat(path: string, text: string): TestReport['format'] {
  const start = text.replace(/^\uFEFF/, '').trimStart();
  if (start.startsWith('<')) return 'junit';
  if (/^(?:TAP version \d|\d+\.\.\d+|(?:not )?ok\b)/i.test(start)) return 'tap';
  return extname(path).toLowerCase() === '.xml' ? 'junit' : 'tap';
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

/**
 * Reads and parses a report file. Never throws: a missing, unreadable or oversized file gives a report whose
 * problems say so. TAP past the size cap is cut at the last whole line; oversized XML is not read at all.
 */
export async function readReport(path: string): Promise<TestReport> {
  const guess: TestReport['format'] = extname(path).toLowerCase() === '.xml' ? 'junit' : 'tap';
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.min(size, MAX_REPORT_BYTES));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    let text = buffer.subarray(0, bytesRead).toString('utf8');
    const format = detectFormat(path, text);
    if (size <= MAX_REPORT_BYTES) return await (format === 'tap' ? parseTap(text) : parseJunit(text));
    const limit = `report file is ${megabytes(size)}, over the ${megabytes(MAX_REPORT_BYTES)} limit`;
    if (format === 'junit') return emptyReport('junit', `${limit}: not read`);
    const lastLine = text.lastIndexOf('\n');
    if (lastLine >= 0) text = text.slice(0, lastLine + 1);
    const report = await parseTap(text);
    report.problems.unshift(`${limit}: only the first ${megabytes(MAX_REPORT_BYTES)} was read`);
    return report;
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return emptyReport(guess, `report file ${path} not found`);
    if (code === 'EISDIR') return emptyReport(guess, `report file ${path} is a directory`);
    const reason = code ?? (error instanceof Error ? error.message : String(error));
    return emptyReport(guess, `report file ${path} could not be read (${reason})`);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
