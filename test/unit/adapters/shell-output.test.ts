// The terminal adapter prints nothing raw: a reply, an edit or an echoed input line with escape
// sequences in it reaches the terminal escaped, so it cannot retitle the window, recolour or clear it.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ShellAdapter } from '../../../adapters/shell.ts';
import { hasUnsafe } from '../../../src/render/untrusted.ts';

function terminal() {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';
  output.on('data', (chunk: Buffer) => {
    printed += chunk.toString('utf8');
  });
  const shell = new ShellAdapter({ input, output, interactive: false, as: 'alice' });
  return { shell, input, printed: () => printed };
}

describe('shell adapter output', () => {
  it('shows escapes, NUL and bidi overrides in replies and edits escaped', async () => {
    const { shell, printed } = terminal();
    const target = shell.directTarget('alice');
    const ref = await shell.send(target, {
      tone: 'info',
      text: 'title \u001b]0;owned\u0007 nul\u0000\nnext line',
    });
    await shell.edit(ref, { tone: 'info', text: 'red \u001b[31m\u202Eevil \u009b2J' });
    const out = printed();
    expect(out).toContain('title \\x1b]0;owned\\x07 nul\\x00\nnext line');
    expect(out).toContain('red \\x1b[31m\\u202eevil \\x9b2J');
    expect(hasUnsafe(out, 'terminal')).toBe(false);
  });

  it('echoes a piped line escaped', async () => {
    const { shell, input, printed } = terminal();
    await shell.start(async () => undefined);
    input.end('build 2.6 \u001b[2Jkvm\n');
    await shell.ended;
    expect(printed()).toContain('alice> build 2.6 \\x1b[2Jkvm');
  });
});
