// Help texts: a command's usage line, the list of commands an asker may run, and one command's help.
import type { ArgSpec, CommandSpec, OptionSpec } from '../command-spec.ts';
import type { Access } from '../types.ts';

const VARIADIC = new Set<ArgSpec['kind']>(['formats', 'clouds', 'events', 'text']);

/** How one positional argument looks in a usage line: `<version>`, `[format…]`, `<format…|all>`. */
function argUsage(arg: ArgSpec): string {
  let word = arg.name;
  if (VARIADIC.has(arg.kind)) word += '…';
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

/** Who may run a command, in words. */
export function accessText(access: Access): string {
  switch (access) {
    case 'anyone':
      return 'anyone';
    case 'known':
      return 'anyone listed in the vmops config';
    case 'admin':
      return 'admins';
    default:
      return `people with the ${access} role (and admins)`;
  }
}

/** Sections of the help list; commands not named here go under "Other". */
const GROUPS: readonly { title: string; names: readonly string[] }[] = [
  { title: 'Images', names: ['build', 'test', 'publish', 'deploy', 'update', 'revoke', 'images'] },
  { title: 'Jobs', names: ['jobs', 'status', 'log', 'report', 'cancel', 'retry'] },
  { title: 'Approvals', names: ['approve', 'deny', 'pending'] },
  { title: 'Rooms and people', names: ['agents', 'subscribe', 'unsubscribe', 'oncall', 'whoami', 'help'] },
];

/** The commands the asker may run, grouped, one line each. */
export function helpList(specs: readonly CommandSpec[], may: (spec: CommandSpec) => boolean): string {
  const allowed = specs.filter((spec) => may(spec));
  if (allowed.length === 0) {
    return 'There is no command you may run here; ask an admin of vmops to list your account in the config.';
  }
  const grouped = new Set(GROUPS.flatMap((group) => group.names));
  const sections = [
    ...GROUPS.map((group) => ({
      title: group.title,
      specs: group.names.flatMap((name) => allowed.filter((spec) => spec.name === name)),
    })),
    { title: 'Other', specs: allowed.filter((spec) => !grouped.has(spec.name)) },
  ].filter((section) => section.specs.length > 0);
  const lines = ['Commands you may run (type help <command> for more):'];
  for (const section of sections) {
    lines.push(`${section.title}:`);
    for (const spec of section.specs) lines.push(`  ${usageLine(spec)} — ${spec.summary}`);
  }
  return lines.join('\n');
}

/** Everything about one command: usage, description, options, examples, aliases and who may run it. */
export function helpFor(spec: CommandSpec, access: Access = spec.access): string {
  const summary = `${spec.summary.charAt(0).toUpperCase()}${spec.summary.slice(1)}.`;
  const lines = [usageLine(spec), summary];
  if (spec.description) lines.push(spec.description);
  const options = spec.options ?? [];
  if (options.length > 0) {
    lines.push('Options:');
    for (const option of options) lines.push(`  ${optionUsage(option).slice(1, -1)}  ${option.description}`);
  }
  if (spec.aliases && spec.aliases.length > 0) lines.push(`Also called: ${spec.aliases.join(', ')}`);
  if (spec.examples.length > 0) {
    lines.push('Examples:');
    for (const example of spec.examples) lines.push(`  ${example}`);
  }
  lines.push(`Who may run it: ${accessText(access)}.`);
  return lines.join('\n');
}
