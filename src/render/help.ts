// Help texts: the list of commands an asker may run, everything about one command, and who may run
// it, in words. Who may run what is asked of the real policy (src/people/authorize.ts), so roles
// that include others (an operator is also a viewer) are described as the policy has them.
import type { CommandSpec } from '../grammar/command-spec.ts';
import { optionUsage, usageLine } from '../grammar/usage.ts';
import { mayRun } from '../people/authorize.ts';
import type { Access, Role } from '../types.ts';

/** Every role, in the order help names them (a Record, so a role added to the type must be added here). */
const EVERY_ROLE: Record<Role, true> = { viewer: true, operator: true, approver: true, admin: true };
const ROLES = Object.keys(EVERY_ROLE) as Role[];

/** The roles that let a person run a command needing `access`. */
function rolesAllowed(access: Role): Role[] {
  return ROLES.filter((role) =>
    mayRun(
      { id: role, known: true, roles: [role], account: { network: '', id: role }, displayName: role },
      access,
    ),
  );
}

/** `a`, `a or b`, `a, b or c`. */
function orList(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/** Who may run a command, in words. */
export function accessText(access: Access): string {
  if (access === 'anyone') return 'anyone';
  if (access === 'known') return 'anyone listed in the vmops config';
  // Admins may run everything.
  const roles = rolesAllowed(access).filter((role) => role !== 'admin');
  return roles.length === 0 ? 'admins' : `people with the ${orList(roles)} role (and admins)`;
}

/** Sections of the help list; commands not named here go under "Other". */
const GROUPS: readonly { title: string; names: readonly string[] }[] = [
  { title: 'Images', names: ['build', 'test', 'publish', 'deploy', 'update', 'revoke', 'images', 'clouds'] },
  { title: 'Jobs', names: ['jobs', 'status', 'log', 'report', 'cancel', 'retry'] },
  { title: 'Approvals', names: ['approve', 'deny', 'withdraw', 'pending', 'oncall'] },
  {
    title: 'Rooms and people',
    names: ['agents', 'subscribe', 'unsubscribe', 'whoami', 'login', 'people', 'audit', 'help'],
  },
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

/**
 * Everything about one command: usage, description, options, examples, aliases and who may run it.
 * `access` is the command's access as the config's policy has it (`accessFor`), not its default.
 */
export function helpFor(spec: CommandSpec, access: Access): string {
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
