// A command's usage line, for help and for the refusals of the binder (the rest of help is in
// src/render/help.ts).
import type { ArgSpec, CommandSpec, OptionSpec } from './command-spec.ts';

/** Argument kinds that take the rest of the words. */
export const VARIADIC_KINDS: ReadonlySet<ArgSpec['kind']> = new Set(['formats', 'clouds', 'events', 'text']);

/** How one positional argument looks in a usage line: `<version>`, `[format…]`, `<format…|all>`. */
function argUsage(arg: ArgSpec): string {
  let word = arg.name;
  if (VARIADIC_KINDS.has(arg.kind)) word += '…';
  if (arg.kind === 'formats' && !arg.optional) word += '|all';
  return arg.optional || arg.kind === 'product' ? `[${word}]` : `<${word}>`;
}

/** How one option looks in a usage line: `[--reason "…"]`, `[--tail N]`, `[--force]`. */
export function optionUsage(option: OptionSpec): string {
  if (option.type === 'boolean') return `[--${option.name}]`;
  return `[--${option.name} ${option.type === 'integer' ? 'N' : '"…"'}]`;
}

/** `build [product] <version> <format…|all>`. */
export function usageLine(spec: CommandSpec): string {
  return [spec.name, ...spec.args.map(argUsage), ...(spec.options ?? []).map(optionUsage)].join(' ');
}
