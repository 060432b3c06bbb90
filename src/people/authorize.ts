// Authorize: default deny. A command's access comes from config `policy.commands` or the command's
// own default; the role rules (roles imply lesser ones) are src/people/roles.ts.
// The refusal names the role needed and why the asker lacks it.
import type { Config } from '../../config/schema.ts';
import { VmopsError } from '../errors.ts';
import type { CommandSpec } from '../grammar/command-spec.ts';
import { printable } from '../grammar/echo.ts';
import type { Access, Principal } from '../types.ts';
import { mayRun } from './roles.ts';

export { hasRole, mayRun } from './roles.ts';

export function accessFor(spec: CommandSpec, policy: Pick<Config['policy'], 'commands'>): Access {
  return policy.commands[spec.name] ?? spec.access;
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
