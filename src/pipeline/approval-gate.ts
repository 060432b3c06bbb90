// Approval gate: which commands must wait for the on-call approver (DESIGN.md, "Identity and
// approvals"): `revoke`, and `deploy` to a cloud tagged production. Until approvals exist, such a
// command is refused outright rather than run without one.
import type { Config } from '../../config/schema.ts';
import type { BoundArgs, CommandSpec } from '../command-spec.ts';

/** Why the command needs an approval, or undefined when it needs none. */
export function approvalReason(spec: CommandSpec, args: BoundArgs, config: Config): string | undefined {
  if (spec.name === 'revoke') return 'revoke needs the approval of the on-call approver';
  if (spec.name === 'deploy') {
    const production = args.clouds.filter((cloud) => config.clouds[cloud]?.tags.includes('production'));
    if (production.length > 0) {
      return `deploy to ${production.join(', ')} (tagged production) needs the approval of the on-call approver`;
    }
  }
  return undefined;
}
