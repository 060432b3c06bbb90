// The step output protocol: directives are recognised, anything malformed stays a log line.
import { describe, expect, it } from 'vitest';
import { parseStepLine } from '../../../src/worker/progress-protocol.ts';

describe('parseStepLine', () => {
  it('reads ::progress with and without a message', () => {
    expect(parseStepLine('::progress 42')).toEqual({ kind: 'progress', percent: 42 });
    expect(parseStepLine('::progress 0 starting up')).toEqual({
      kind: 'progress',
      percent: 0,
      message: 'starting up',
    });
    expect(parseStepLine('::progress 100\tall  done ')).toEqual({
      kind: 'progress',
      percent: 100,
      message: 'all  done',
    });
    expect(parseStepLine('::progress 12.5')).toEqual({ kind: 'progress', percent: 12.5 });
    expect(parseStepLine('::progress 50 half\r')).toEqual({ kind: 'progress', percent: 50, message: 'half' });
  });

  it('reads ::status, ::artifact and ::report', () => {
    expect(parseStepLine('::status converting to vmdk')).toEqual({
      kind: 'status',
      message: 'converting to vmdk',
    });
    expect(parseStepLine('::artifact out/cernvm-2.6.qcow2')).toEqual({
      kind: 'artifact',
      path: 'out/cernvm-2.6.qcow2',
    });
    expect(parseStepLine('::report reports/junit.xml')).toEqual({
      kind: 'report',
      path: 'reports/junit.xml',
    });
  });

  it('keeps ordinary lines as log lines', () => {
    expect(parseStepLine('')).toEqual({ kind: 'log', text: '' });
    expect(parseStepLine('copying 1200 files')).toEqual({ kind: 'log', text: 'copying 1200 files' });
    expect(parseStepLine('windows line\r')).toEqual({ kind: 'log', text: 'windows line' });
  });

  it.each([
    '::progress',
    '::progress abc',
    '::progress -5',
    '::progress 101',
    '::progress 1000',
    '::progress 5e1',
    '::progress 50%',
    '::progress50',
    '::progress .5',
    '::status',
    '::status    ',
    '::artifact',
    '::report ',
    '::PROGRESS 10',
    '::unknown thing',
    ' ::progress 10',
    ':: progress 10',
    'text ::progress 10',
  ])('treats the malformed directive %j as a log line', (line) => {
    expect(parseStepLine(line)).toEqual({ kind: 'log', text: line });
  });
});
