// `publish [product] <version> [format…]`: makes passed images downloadable, one job per format.
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { PRODUCT_AND_VERSION, perFormatJobs, perFormatRequests, queues } from './support/stage-jobs.ts';

export const command: CommandSpec = {
  name: 'publish',
  summary: 'make images that passed their tests downloadable',
  description:
    'Publishes each format into the download area with its checksums; without formats, every format of the product. Only an image that passed its tests can be published. Publishing a version older than the newest one waits for an approval (policy.approvals.publishOlder).',
  examples: ['publish 2.6', 'publish 2.6 kvm', 'publish cernvm 2.6 vmware virtualbox'],
  access: 'operator',
  args: [...PRODUCT_AND_VERSION, { name: 'format', kind: 'formats', optional: true }],
  plan: (ctx, args) => queues(perFormatRequests(ctx.config, args, 'publish')),
  run: (ctx, args) => perFormatJobs(ctx, args, 'publish'),
};
