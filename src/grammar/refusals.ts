// How the binder refuses: a coded error whose message says what would be right (the usage line, a
// did-you-mean). Shared by the option reader (read-options.ts) and the binder (bind-args.ts).
import { type ErrorCode, VmopsError } from '../errors.ts';
import type { CommandSpec } from './command-spec.ts';
import { suggest } from './suggest.ts';
import { usageLine } from './usage.ts';

export function refuse(code: ErrorCode, message: string): never {
  throw new VmopsError(code, message);
}

export const withUsage = (spec: CommandSpec, message: string): string =>
  `${message}. Usage: ${usageLine(spec)}`;
export const meant = (
  word: string,
  candidates: readonly string[],
  show = (found: string) => found,
): string => {
  const found = suggest(word, candidates);
  return found === undefined ? '' : ` did you mean ${show(found)}?`;
};
