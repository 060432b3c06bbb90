// Makes a user's word safe to quote back in a reply: no control or bidi characters, at most 60 characters.

const MAX_ECHO = 60;
const UNSAFE = /[\p{Cc}\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/gu;

const CONTROL_NAMES: Record<number, string> = {
  0: 'NUL',
  7: 'bell',
  8: 'backspace',
  10: 'newline',
  11: 'vertical tab',
  12: 'form feed',
  13: 'carriage return',
  27: 'escape',
  127: 'delete',
  8232: 'line separator',
  8233: 'paragraph separator',
};

/** The word without unsafe characters, cut to 60 characters (ending in …), never splitting a surrogate pair. */
export function printable(word: string, max = MAX_ECHO): string {
  const clean = word.toWellFormed().replace(UNSAFE, '');
  const chars = Array.from(clean);
  return chars.length <= max ? clean : `${chars.slice(0, max - 1).join('')}…`;
}

/** A user's word in single quotes, ready to put in a reply. */
export function echo(word: string): string {
  return `'${printable(word)}'`;
}

/** Names a character for an error message: `U+000A (newline)`. */
export function describeCharacter(codePoint: number): string {
  const hex = `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
  const name = CONTROL_NAMES[codePoint];
  return name === undefined ? hex : `${hex} (${name})`;
}
