// `test [product] <version> [format…]`: integrity-tests built images, one job per format.
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { PRODUCT_AND_VERSION, perFormatJobs, perFormatRequests, queues } from './support/stage-jobs.ts';

export const command: CommandSpec = {
  name: 'test',
  summary: 'integrity-test built images; the report is posted here',
  description:
    'Runs the test recipe once per format; without formats, every format of the product is tested. The result (passed, failed, skipped, and the first failures) ends each status message; report <job> shows the whole report.',
  examples: ['test 2.6', 'test 2.6 kvm vmware', 'test cernvm 2.6.1 vbox'],
  access: 'operator',
  args: [...PRODUCT_AND_VERSION, { name: 'format', kind: 'formats', optional: true }],
  plan: (ctx, args) => queues(perFormatRequests(ctx.config, args, 'test')),
  run: (ctx, args) => perFormatJobs(ctx, args, 'test'),
};
