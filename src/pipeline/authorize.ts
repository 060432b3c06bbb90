// Authorize: default deny. A command's access comes from config `policy.commands` or the command's
// own default. Roles imply lesser ones: admin holds every role; operator and approver each hold viewer.
// The refusal names the role needed and why the asker lacks it.
import type { Config } from '../../config/schema.ts';
import type { CommandSpec } from '../command-spec.ts';
import { VmopsError } from '../errors.ts';
import { printable } from '../grammar/echo.ts';
import type { Access, Principal, Role } from '../types.ts';

/** Which roles grant each role. */
const GRANTED_BY: Record<Role, readonly Role[]> = {
  viewer: ['viewer', 'operator', 'approver', 'admin'],
  operator: ['operator', 'admin'],
  approver: ['approver', 'admin'],
  admin: ['admin'],
};

export function accessFor(spec: CommandSpec, policy: Pick<Config['policy'], 'commands'>): Access {
  return policy.commands[spec.name] ?? spec.access;
}

export function hasRole(principal: Principal, role: Role): boolean {
  return principal.roles.some((held) => GRANTED_BY[role].includes(held));
}

export function mayRun(principal: Principal, access: Access): boolean {
  if (access === 'anyone') return true;
  if (!principal.known) return false;
  if (access === 'known') return true;
  return hasRole(principal, access);
}

/** Throws `forbidden` with a reply that says which role is needed. */
export function authorize(
  principal: Principal,
  spec: CommandSpec,
  policy: Pick<Config['policy'], 'commands'>,
): void {
  const access = accessFor(spec, policy);
  if (mayRun(principal, access)) return;
  const need = access === 'known' ? 'a person listed in the vmops config' : `the ${access} role`;
  const why = principal.known
    ? `you (${principal.id}) have ${principal.roles.length > 0 ? `the roles ${principal.roles.join(', ')}` : 'no roles'}; an admin can add it under people.${principal.id}.roles`
    : `your ${principal.account.network} account ${printable(principal.account.id)} is not listed in the vmops config, so you are a guest`;
  throw new VmopsError('forbidden', `${spec.name} needs ${need}: ${why}.`, {
    command: spec.name,
    person: principal.id,
    access,
  });
}
