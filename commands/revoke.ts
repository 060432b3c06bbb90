// `revoke [product] <version> [--reason "…"]`: unpublishes a version everywhere and tells the clouds.
import type { BoundArgs, CommandSpec } from '../src/command-spec.ts';
import { PRODUCT_AND_VERSION, queues, versionJob, versionRequest } from './support/stage-jobs.ts';

const reasonOf = (args: BoundArgs): Record<string, string> => {
  const reason = typeof args.options.reason === 'string' ? args.options.reason.trim() : '';
  return reason === '' ? {} : { reason };
};

export const command: CommandSpec = {
  name: 'revoke',
  summary: 'revoke a version everywhere',
  description:
    'Unpublishes every format of the version, adds it to the published revocation list, undeploys it from every cloud and tells subscribed rooms. It waits for an approval (policy.approvals.revoke): vmops answers with a request id, and the revoke runs when an approver other than you approves it.',
  examples: [
    'revoke 2.5',
    'revoke 2.5 --reason "CVE-2024-1234 in the kernel"',
    'revoke cernvm 2.5 reason=obsolete',
  ],
  access: 'operator',
  args: PRODUCT_AND_VERSION,
  options: [
    { name: 'reason', type: 'string', description: 'why the version is revoked (shown to subscribers)' },
  ],
  plan: (_ctx, args) => queues([versionRequest(args, 'revoke', reasonOf(args))]),
  run: (ctx, args) => versionJob(ctx, args, 'revoke', reasonOf(args)),
};
