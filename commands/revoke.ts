// `revoke [product] <version> [--reason "…"]`: unpublishes a version everywhere and tells the clouds.
import type { CommandSpec, StageRequest } from '../src/command-spec.ts';
import { requireVersion, submitStages } from './support/stage-jobs.ts';

export const command: CommandSpec = {
  name: 'revoke',
  summary: 'revoke a version everywhere',
  description:
    'Unpublishes every format of the version, adds it to the published revocation list, undeploys it from every cloud and tells subscribed rooms. Needs an approval.',
  examples: [
    'revoke 2.5',
    'revoke 2.5 --reason "CVE-2024-1234 in the kernel"',
    'revoke cernvm 2.5 reason=obsolete',
  ],
  access: 'operator',
  args: [
    { name: 'product', kind: 'product', optional: true },
    { name: 'version', kind: 'version' },
  ],
  options: [
    { name: 'reason', type: 'string', description: 'why the version is revoked (shown to subscribers)' },
  ],
  async run(ctx, args) {
    const request: StageRequest = { stage: 'revoke', product: args.product, version: requireVersion(args) };
    const reason = args.options.reason;
    if (typeof reason === 'string' && reason.trim() !== '') request.params = { reason: reason.trim() };
    return submitStages(ctx, [request]);
  },
};
