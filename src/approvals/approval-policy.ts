// Which commands wait for an approval (config `policy.approvals`, DESIGN.md "Identity and approvals"):
// by default `revoke`, `deploy` to a cloud tagged production, and `publish` of a version older than the
// newest one of its product; plus any command listed under `always`.
import type { Config } from '../../config/schema.ts';
import type { BoundArgs, CatalogReader } from '../grammar/command-spec.ts';

import { compareVersions, newestVersion } from '../grammar/version.ts';

export { compareVersions };

/** Why the command (by name) needs an approval, or undefined when it needs none. */
export async function approvalReason(
  command: string,
  args: Pick<BoundArgs, 'product' | 'version' | 'clouds'>,
  config: Config,
  catalog: Pick<CatalogReader, 'versions'>,
): Promise<string | undefined> {
  const policy = config.policy.approvals;
  if (policy.always.includes(command)) return `${command} always waits for an approval`;
  // Removing a version from the catalog undoes history: never without a second person.
  if (command === 'expunge') return 'expunge always waits for an approval';
  if (command === 'revoke' && policy.revoke) return 'revoke always waits for an approval';
  if (command === 'deploy') {
    const tagged = args.clouds.filter((cloud) =>
      config.clouds[cloud]?.tags.some((tag) => policy.deployTags.includes(tag)),
    );
    if (tagged.length > 0) {
      const tags = [...new Set(tagged.flatMap((cloud) => config.clouds[cloud]?.tags ?? []))].filter((tag) =>
        policy.deployTags.includes(tag),
      );
      return `deploy to ${tagged.join(', ')} (tagged ${tags.join(', ')}) waits for an approval`;
    }
  }
  if (command === 'publish' && policy.publishOlder && args.version !== undefined) {
    const versions = await catalog.versions(args.product);
    // Only versions written rightly count: one that never should have existed (`99999999999999999999.1`,
    // from before versions were bounded) does not hold every publish back; `expunge` removes it.
    const newest = newestVersion(versions);
    if (newest !== undefined && compareVersions(args.version, newest) < 0) {
      return `publish of ${args.product} ${args.version}, older than the newest version ${newest}, waits for an approval`;
    }
  }
  return undefined;
}
