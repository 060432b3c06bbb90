// Untrusted text (what people typed, what steps printed, display names, report names) on its way to a
// sink: a chat message, a terminal, a log line, a web page. Control characters (C0, DEL, C1) and the
// characters that reorder or hide text (bidi marks, embeddings, overrides and isolates, line and
// paragraph separators) are shown as visible escapes (`\x1b`, `\u202e`), never passed on raw and never
// silently dropped, so an admin reading the audit trail sees that they were there. Everything else,
// emoji and every script included, is kept. Escaping is idempotent: escaped text has nothing left to escape.

/** Where the text goes. Every sink escapes the same characters; they differ in what may stay. */
export type Sink =
  /** One line of a chat reply (a word, a name, a step's message): newlines escaped too. */
  | 'line'
  /** A whole reply printed on a terminal: the reply's own newlines stay, everything else is escaped. */
  | 'terminal'
  /** A log field or an HTML text node: same as `line` (the log's JSON and the page's HTML escape the rest). */
  | 'log'
  | 'html';

/** Every character that must not reach a sink raw (newline handled per sink). */
const UNSAFE = /[\p{Cc}\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/gu;
/** The same but the newline. */
const UNSAFE_BUT_NEWLINE = /(?!\n)[\p{Cc}\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/gu;

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The visible form of one unsafe character: `\n`, `\x1b`, `\u202e`. */
export function escapeCharacter(char: string): string {
  const short = SHORT[char];
  if (short !== undefined) return short;
  const code = char.codePointAt(0) ?? 0;
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Whether a text holds anything a sink would escape (for tests and checks). */
export function hasUnsafe(text: string, sink: Sink = 'line'): boolean {
  return new RegExp((sink === 'terminal' ? UNSAFE_BUT_NEWLINE : UNSAFE).source, 'u').test(text);
}

/**
 * Untrusted text made fit for a sink: unsafe characters escaped, lone surrogates replaced, and, with
 * `max`, cut to at most that many characters (ending in …) without splitting an escape or an emoji.
 */
export function renderUntrusted(text: string, sink: Sink, max?: number): string {
  const pattern = sink === 'terminal' ? UNSAFE_BUT_NEWLINE : UNSAFE;
  const escaped = text.toWellFormed().replace(pattern, escapeCharacter);
  if (max === undefined) return escaped;
  // Cut between pieces: a character, or a whole escape.
  const pieces = escaped.match(/\\(?:x[0-9a-f]{2}|u[0-9a-f]{4}|[nrt])|[\s\S]/gu) ?? [];
  const size = (piece: string) => (piece.startsWith('\\') ? piece.length : 1);
  if (pieces.reduce((n, piece) => n + size(piece), 0) <= max) return escaped;
  let length = 0;
  const kept: string[] = [];
  for (const piece of pieces) {
    if (length + size(piece) > max - 1) break;
    kept.push(piece);
    length += size(piece);
  }
  return `${kept.join('')}…`;
}
