// Makes a user's word safe to quote back in a reply: control and bidi characters shown escaped
// (src/render/untrusted.ts), at most 60 characters.
import { renderUntrusted } from '../render/untrusted.ts';

const MAX_ECHO = 60;

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
  1564: 'Arabic letter mark',
  8206: 'left-to-right mark',
  8207: 'right-to-left mark',
  8232: 'line separator',
  8233: 'paragraph separator',
  8234: 'left-to-right embedding',
  8235: 'right-to-left embedding',
  8236: 'pop directional formatting',
  8237: 'left-to-right override',
  8238: 'right-to-left override',
  8294: 'left-to-right isolate',
  8295: 'right-to-left isolate',
  8296: 'first strong isolate',
  8297: 'pop directional isolate',
};

/** The word with unsafe characters escaped, cut to 60 characters (ending in …), never splitting a surrogate pair. */
export function printable(word: string, max = MAX_ECHO): string {
  return renderUntrusted(word, 'line', max);
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
