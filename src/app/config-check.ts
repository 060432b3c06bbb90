// `vmops config check FILE`: the file's syntax, schema and policy (every command it names exists),
// then a one-line summary of what it configures.
import { resolve } from 'node:path';
import type { Basics } from './basics.ts';

/** Checks the file; throws a config_invalid VmopsError (with file:line) when something is wrong. */
export async function runConfigCheck(configFile: string, basics: Basics): Promise<void> {
  const config = basics.loadConfig(resolve(configFile));
  const [{ checkPolicy }, { CommandRegistry }, { allCommands }] = await Promise.all([
    import('../people/policy-check.ts'),
    import('../grammar/command-registry.ts'),
    import('../../commands/index.ts'),
  ]);
  checkPolicy(config, new CommandRegistry(allCommands), configFile);
  const people = Object.keys(config.people).length;
  process.stdout.write(
    `${configFile}: valid (${Object.keys(config.products).length} product(s), ${Object.keys(config.formats).length} formats, ${Object.keys(config.clouds).length} clouds, ${people} people)\n`,
  );
}
