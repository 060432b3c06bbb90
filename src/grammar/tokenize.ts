// Splits a chat command into words: refuses over-long text, control characters and unbalanced quotes,
// turns phone quotes (“ ” ‘ ’) into ASCII ones (but keeps the apostrophe of it’s), then lets string-argv
// split words and quoted strings.
import { parseArgsStringToArgv } from 'string-argv';
import { fail, ok, type Result } from '../errors.ts';
import { describeCharacter } from './echo.ts';

/**
 * Control characters other than space and tab, the Unicode line and paragraph separators, and the
 * invisible direction marks, embeddings, overrides and isolates: a command that shows as `build 2.6`
 * must be `build 2.6`, not a hidden mark and `build` (which would read as an unknown command that looks
 * exactly like a known one). The tab is allowed. Searched in the whole text at once.
 */
const FORBIDDEN = /(?!\t)[\p{Cc}\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;
const DIRECTION = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
const TYPOGRAPHIC_DOUBLE = /[\u201C\u201D\u201E\u201F]/g;
/** Single typographic quotes, except a ’ between letters: that is the apostrophe phones type (it’s, don’t). */
const TYPOGRAPHIC_SINGLE = /[\u2018\u201A\u201B]|(?<![\p{L}\p{M}])\u2019|\u2019(?!\p{L})/gu;

/** Replaces the quotes phones and word processors type with the ASCII ones the grammar uses. */
export function normaliseQuotes(text: string): string {
  return text.replace(TYPOGRAPHIC_DOUBLE, '"').replace(TYPOGRAPHIC_SINGLE, "'");
}

/** Whitespace, as string-argv splits on it. */
const SPACES = /\s+/;

/** The first forbidden character and its 1-based position (in characters), if any. */
function findForbidden(text: string): { codePoint: number; position: number } | undefined {
  const found = FORBIDDEN.exec(text);
  if (found === null) return undefined;
  let position = 1;
  for (const _char of text.slice(0, found.index)) position++;
  return { codePoint: found[0].codePointAt(0) ?? 0, position };
}

/** Where an unclosed quote opens, following string-argv's rules: a quote runs to the next same quote. */
function findUnclosedQuote(text: string): { quote: string; position: number } | undefined {
  let open: { quote: string; position: number } | undefined;
  let position = 0;
  for (const char of text) {
    position++;
    if (open !== undefined) {
      if (char === open.quote) open = undefined;
    } else if (char === '"' || char === "'") {
      open = { quote: char, position };
    }
  }
  return open;
}

/** The words of a command; a quoted string is one word without its quotes, `""` an empty word. */
export function tokenize(text: string, maxLength: number): Result<string[]> {
  if (text.length > maxLength) {
    return fail(
      'bad_syntax',
      `the command is ${text.length} characters long; vmops reads commands of at most ${maxLength} characters`,
    );
  }
  const forbidden = findForbidden(text);
  if (forbidden !== undefined && DIRECTION.test(String.fromCodePoint(forbidden.codePoint))) {
    return fail(
      'bad_syntax',
      `invisible direction character ${describeCharacter(forbidden.codePoint)} at position ${forbidden.position} is not allowed: retype the command without it (some keyboards add it)`,
    );
  }
  if (forbidden !== undefined) {
    return fail(
      'bad_syntax',
      `control character ${describeCharacter(forbidden.codePoint)} at position ${forbidden.position} is not allowed: write the command on one line, with plain spaces between words`,
    );
  }
  const normalised = normaliseQuotes(text);
  const unclosed = findUnclosedQuote(normalised);
  if (unclosed !== undefined) {
    const hint =
      unclosed.quote === "'"
        ? `add the closing ', or put text with an apostrophe in "double quotes"`
        : `add the closing ", or put text with a " in 'single quotes'`;
    return fail(
      'bad_syntax',
      `unterminated ${unclosed.quote} quote starting at position ${unclosed.position}: ${hint}`,
    );
  }
  const trimmed = normalised.trim();
  if (trimmed === '') return ok([]);
  // Without quotes string-argv only splits at whitespace: do that directly, it is most commands.
  if (!trimmed.includes('"') && !trimmed.includes("'")) return ok(trimmed.split(SPACES));
  return ok(parseArgsStringToArgv(normalised));
}
