import { describe, expect, it } from 'vitest';
import { tokenize } from '../../../src/grammar/tokenize.ts';

const words = (text: string, max = 2000): string[] => {
  const result = tokenize(text, max);
  if (!result.ok) throw new Error(`expected words, got ${result.error.code}: ${result.error.message}`);
  return result.value;
};
const refused = (text: string, max = 2000): { code: string; message: string } => {
  const result = tokenize(text, max);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return { code: result.error.code, message: result.error.message };
};

describe('tokenize: words and quotes', () => {
  it('splits on spaces and tabs, ignoring runs of them', () => {
    expect(words('build  2.6\tkvm ')).toEqual(['build', '2.6', 'kvm']);
  });

  it('gives no words for empty or blank text', () => {
    expect(words('')).toEqual([]);
    expect(words('   \t ')).toEqual([]);
  });

  it('keeps a "double quoted" string as one word without its quotes', () => {
    expect(words('revoke 2.5 --reason "kernel CVE, see ticket"')).toEqual([
      'revoke',
      '2.5',
      '--reason',
      'kernel CVE, see ticket',
    ]);
  });

  it("keeps a 'single quoted' string as one word, and a ' inside double quotes as text", () => {
    expect(words(`deny r-1 'not now'`)).toEqual(['deny', 'r-1', 'not now']);
    expect(words(`deny r-1 "it's broken"`)).toEqual(['deny', 'r-1', "it's broken"]);
    expect(words(`deny r-1 'say "hi"'`)).toEqual(['deny', 'r-1', 'say "hi"']);
  });

  it('turns an empty quoted string into an empty word', () => {
    expect(words('deny r-1 ""')).toEqual(['deny', 'r-1', '']);
    expect(words("deny r-1 ''")).toEqual(['deny', 'r-1', '']);
  });

  it('joins quoted parts that touch other characters into one word', () => {
    expect(words('revoke 2.5 reason="bad image"')).toEqual(['revoke', '2.5', 'reason=bad image']);
  });

  it('reads typographic quotes typed on phones as ASCII quotes', () => {
    expect(words('revoke 2.5 --reason “bad image”')).toEqual(['revoke', '2.5', '--reason', 'bad image']);
    expect(words('deny r-1 ‘not now’')).toEqual(['deny', 'r-1', 'not now']);
    expect(words('deny r-1 „nicht jetzt“')).toEqual(['deny', 'r-1', 'nicht jetzt']);
  });

  it('keeps a phone apostrophe between letters as part of the word', () => {
    expect(words('deny r-1 it’s late')).toEqual(['deny', 'r-1', 'it’s', 'late']);
    expect(words('revoke 2.5 reason=don’t')).toEqual(['revoke', '2.5', 'reason=don’t']);
    expect(words('deny r-1 ‘it’s late’')).toEqual(['deny', 'r-1', 'it’s late']);
    expect(words('deny r-1 “don’t, it’s late”')).toEqual(['deny', 'r-1', 'don’t, it’s late']);
  });

  it('reads a ’ that is not between letters as the quote it closes', () => {
    expect(words('deny r-1 ‘two words’')).toEqual(['deny', 'r-1', 'two words']);
    expect(words('deny r-1 ’two words’')).toEqual(['deny', 'r-1', 'two words']);
    expect(refused('deny r-1 the users’ images').message).toMatch(
      /^unterminated ' quote starting at position 19:/,
    );
  });

  it('leaves shell characters as plain text inside words', () => {
    expect(words('build 2.6 "kvm; rm -rf /" $(reboot) `id`')).toEqual([
      'build',
      '2.6',
      'kvm; rm -rf /',
      '$(reboot)',
      '`id`',
    ]);
  });
});

describe('tokenize: refusals', () => {
  it('refuses text longer than the limit, saying the length and the limit', () => {
    expect(refused('x'.repeat(10_240), 2000)).toEqual({
      code: 'bad_syntax',
      message: 'the command is 10240 characters long; vmops reads commands of at most 2000 characters',
    });
    expect(words('x'.repeat(16), 16)).toEqual(['x'.repeat(16)]);
  });

  it.each([
    ['build 2.6\u0000kvm', 'U+0000 (NUL) at position 10'],
    ['build 2.6 kvm\nreboot', 'U+000A (newline) at position 14'],
    ['build\r2.6', 'U+000D (carriage return) at position 6'],
    ['build 2.6 \u001b[31mkvm', 'U+001B (escape) at position 11'],
    ['\u007fbuild', 'U+007F (delete) at position 1'],
    ['build \u0085', 'U+0085 at position 7'],
    ['build 2.6\u2028kvm', 'U+2028 (line separator) at position 10'],
    ['🙂🙂\u0007', 'U+0007 (bell) at position 3'],
  ])('refuses a control character in %j, naming it and its position', (text, named) => {
    expect(refused(text)).toEqual({
      code: 'bad_syntax',
      message: `control character ${named} is not allowed: write the command on one line, with plain spaces between words`,
    });
  });

  it('refuses an unterminated double quote, saying where it starts', () => {
    expect(refused('build 2.6 "kvm')).toEqual({
      code: 'bad_syntax',
      message: `unterminated " quote starting at position 11: add the closing ", or put text with a " in 'single quotes'`,
    });
  });

  it('refuses an unterminated single quote (an apostrophe) and suggests double quotes', () => {
    expect(refused("deny r-1 it's broken").message).toBe(
      `unterminated ' quote starting at position 12: add the closing ', or put text with an apostrophe in "double quotes"`,
    );
  });

  it('refuses an unterminated typographic quote as the ASCII one it stands for', () => {
    expect(refused('revoke 2.5 --reason “bad').message).toMatch(
      /^unterminated " quote starting at position 21:/,
    );
  });

  it('finds the unclosed quote after balanced ones', () => {
    expect(refused(`a "b" 'c' "d`).message).toMatch(/^unterminated " quote starting at position 11:/);
  });
});
