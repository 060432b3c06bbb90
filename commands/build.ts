// `build [product] <version> <format…|all>`: builds images, one job per format.
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { PRODUCT_AND_VERSION, perFormatJobs, perFormatRequests, queues } from './support/stage-jobs.ts';

export const command: CommandSpec = {
  name: 'build',
  summary: 'build images of a version for some formats, or all of them',
  description:
    'Runs the build recipe of the product once per format; each build has its own status message in this room. Formats may be named by alias (vbox, qcow2, vmdk…).',
  examples: ['build 2.6 kvm', 'build cernvm 2.6 vmware virtualbox', 'build 2.6.1 all'],
  access: 'operator',
  args: [...PRODUCT_AND_VERSION, { name: 'format', kind: 'formats' }],
  plan: (ctx, args) => queues(perFormatRequests(ctx.config, args, 'build')),
  run: (ctx, args) => perFormatJobs(ctx, args, 'build'),
};
