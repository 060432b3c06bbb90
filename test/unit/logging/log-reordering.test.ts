// A log line never carries a character that reorders or hides text raw: a person reading the log
// file sees `\u202e`, and a JSON reader still gets the text as it was.
import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { createLogger } from '../../../src/observability/logger.ts';

it('writes bidi overrides, isolates and marks in log lines as JSON escapes', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const log = createLogger({ level: 'info', destination: sink });
  const hostile = 'build 2.6 \u202Ekvm\u2066 \u200F\u2028x \x1b[31m';
  log.info({ text: hostile }, `refused ${hostile}`);
  const [line = ''] = lines;
  expect(line).not.toMatch(/[\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/);
  expect(line).not.toContain('\x1b');
  expect(line).toContain('\\u202e');
  const parsed = JSON.parse(line) as { text: string; msg: string };
  expect(parsed.text).toBe(hostile);
  expect(parsed.msg).toBe(`refused ${hostile}`);
});
