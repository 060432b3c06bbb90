// Checks config policy against the commands that exist: a typo in `policy.commands` would otherwise
// silently leave the command's default access in force.
import type { Config } from '../../config/schema.ts';
import { VmopsError } from '../errors.ts';
import type { CommandRegistry } from '../grammar/command-registry.ts';
import { suggest } from '../grammar/suggest.ts';

export function checkPolicy(config: Config, registry: CommandRegistry, file = 'the configuration'): void {
  const names = registry.all().map((spec) => spec.name);
  for (const name of config.policy.approvals.always) {
    if (names.includes(name)) continue;
    const close = suggest(name, names);
    throw new VmopsError(
      'config_invalid',
      `${file}: policy.approvals.always: there is no command named ${name}${close ? ` (did you mean ${close}?)` : ''}; commands: ${names.join(', ')}`,
    );
  }
  for (const name of Object.keys(config.policy.commands)) {
    if (names.includes(name)) continue;
    const close = suggest(name, names);
    throw new VmopsError(
      'config_invalid',
      `${file}: policy.commands.${name}: there is no command named ${name}${close ? ` (did you mean ${close}?)` : ''}; commands: ${names.join(', ')}`,
    );
  }
}
