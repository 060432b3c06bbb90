// `update [product] <version>`: publishes software updates for an older, still-published version.
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { PRODUCT_AND_VERSION, queues, versionJob, versionRequest } from './support/stage-jobs.ts';

export const command: CommandSpec = {
  name: 'update',
  summary: 'publish software updates for an older version',
  description: 'Runs the update recipe for a version that is still published, so its users get the fixes.',
  examples: ['update 2.5', 'update cernvm 2.5.3'],
  access: 'operator',
  args: PRODUCT_AND_VERSION,
  plan: (_ctx, args) => queues([versionRequest(args, 'update')]),
  run: (ctx, args) => versionJob(ctx, args, 'update'),
};
