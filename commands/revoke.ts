// `revoke [product] <version> [--reason "…"] [--terminate]`: unpublishes a version everywhere and
// removes its images from every cloud.
import type { BoundArgs, CommandSpec } from '../src/grammar/command-spec.ts';
import { PRODUCT_AND_VERSION, queues, versionJob, versionRequest } from './support/stage-jobs.ts';

/** The revoke job's parameters: the reason, and whether to terminate launched instances. */
const paramsOf = (args: BoundArgs): Record<string, string> => {
  const reason = typeof args.options.reason === 'string' ? args.options.reason.trim() : '';
  const params: Record<string, string> = reason === '' ? {} : { reason };
  if (args.options.terminate === true) params.terminate = 'yes';
  return params;
};

export const command: CommandSpec = {
  name: 'revoke',
  summary: 'revoke a version everywhere',
  description:
    'Unpublishes every format of the version, adds it to the published revocation list, and deactivates then deletes its images in every cloud (ec2: deregisters the AMI and deletes the S3 object); instances vmops launched from them are terminated only with --terminate. It waits for an approval (policy.approvals.revoke): vmops answers with a request id, and the revoke runs when an approver other than you approves it.',
  examples: [
    'revoke 2.5',
    'revoke 2.5 --reason "CVE-2024-1234 in the kernel"',
    'revoke cernvm 2.5 reason=obsolete --terminate',
  ],
  access: 'operator',
  args: PRODUCT_AND_VERSION,
  options: [
    { name: 'reason', type: 'string', description: 'why the version is revoked (shown to subscribers)' },
    {
      name: 'terminate',
      type: 'boolean',
      description: 'also terminate the instances vmops launched from it',
    },
  ],
  plan: (_ctx, args) => queues([versionRequest(args, 'revoke', paramsOf(args))]),
  run: (ctx, args) => versionJob(ctx, args, 'revoke', paramsOf(args)),
};
