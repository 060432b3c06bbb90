// `update [product] <version>`: publishes software updates for an older, still-published version.
import type { CommandSpec } from '../src/command-spec.ts';
import { requireVersion, submitStages } from './support/stage-jobs.ts';

export const command: CommandSpec = {
  name: 'update',
  summary: 'publish software updates for an older version',
  description: 'Runs the update recipe for a version that is still published, so its users get the fixes.',
  examples: ['update 2.5', 'update cernvm 2.5.3'],
  access: 'operator',
  args: [
    { name: 'product', kind: 'product', optional: true },
    { name: 'version', kind: 'version' },
  ],
  async run(ctx, args) {
    return submitStages(ctx, [{ stage: 'update', product: args.product, version: requireVersion(args) }]);
  },
};
