// `deploy [product] <version> <cloud…>`: deploys published images, one job per cloud.
import type { CommandSpec } from '../src/command-spec.ts';
import { PRODUCT_AND_VERSION, perCloudJobs, perCloudRequests, queues } from './support/stage-jobs.ts';

export const command: CommandSpec = {
  name: 'deploy',
  summary: 'deploy a published version to clouds',
  description:
    'Deploys the published images of the version to each cloud named. A deploy to a cloud tagged production (policy.approvals.deployTags) waits for an approval: vmops answers with a request id, and it runs when an approver other than you approves it.',
  examples: ['deploy 2.6 local', 'deploy cernvm 2.6.1 local'],
  access: 'operator',
  args: [...PRODUCT_AND_VERSION, { name: 'cloud', kind: 'clouds' }],
  plan: (_ctx, args) => queues(perCloudRequests(args, 'deploy')),
  run: (ctx, args) => perCloudJobs(ctx, args, 'deploy'),
};
