import { describe, expect, it } from 'vitest';
import { describeCharacter, echo, printable } from '../../../src/grammar/echo.ts';

describe('echo', () => {
  it('quotes a word', () => {
    expect(echo('vmwre')).toBe("'vmwre'");
  });

  it('cuts a long word to 60 characters ending in …', () => {
    const shown = echo('a'.repeat(500));
    expect(shown).toBe(`'${'a'.repeat(59)}…'`);
  });

  it('never splits an emoji when cutting', () => {
    const shown = printable('🙂'.repeat(100));
    expect(Array.from(shown)).toHaveLength(60);
    expect(shown.endsWith('🙂…')).toBe(true);
    expect(shown.isWellFormed()).toBe(true);
  });

  it('shows control and bidi characters escaped, never raw', () => {
    expect(echo('kvm\u001b[31m\u0000\u202Eevil')).toBe("'kvm\\x1b[31m\\x00\\u202eevil'");
    expect(echo('\u001b]0;owned\u0007')).toBe("'\\x1b]0;owned\\x07'");
  });

  it('cuts between escapes, never through one', () => {
    const shown = printable('\u001b'.repeat(40), 10);
    expect(shown).toBe('\\x1b\\x1b…');
  });

  it('replaces lone surrogates so replies stay valid text', () => {
    expect(printable('a\uD800b').isWellFormed()).toBe(true);
  });

  it('names characters', () => {
    expect(describeCharacter(0)).toBe('U+0000 (NUL)');
    expect(describeCharacter(0x1b)).toBe('U+001B (escape)');
    expect(describeCharacter(0x85)).toBe('U+0085');
  });
});
