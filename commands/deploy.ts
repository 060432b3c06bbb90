// `deploy [product] <version> <cloud…> [--launch N] [--context key=value,…]`: deploys published
// images, one job per cloud. What can be checked without touching a cloud is checked here, before
// anything is queued: that every cloud named can start instances when --launch is given, and that
// each cloud's user-data template renders with the --context values.

import type { Config } from '../config/schema.ts';
import { readUserDataTemplate } from '../src/clouds/cloud-settings.ts';
import { parseContext, renderUserData } from '../src/clouds/user-data.ts';
import { VmopsError } from '../src/errors.ts';
import type { BoundArgs, CommandSpec, StageRequest } from '../src/grammar/command-spec.ts';
import { PRODUCT_AND_VERSION, queues } from './support/stage-jobs.ts';

/** Drivers that can start instances. */
const LAUNCHERS = new Set(['ec2']);

/**
 * The deploy jobs a command asks for, after the checks that need no cloud: --launch only on clouds
 * that can start instances, and each cloud's user-data template renders with the --context values
 * (for `revision`, the one given). Throws a VmopsError naming the cloud; nothing is queued then.
 */
function deployRequests(config: Config, args: BoundArgs, revision: string): StageRequest[] {
  if (args.version === undefined) throw new VmopsError('missing_argument', 'a version is needed, like 2.6');
  const launch = typeof args.options.launch === 'number' ? args.options.launch : undefined;
  const contextText = typeof args.options.context === 'string' ? args.options.context : undefined;
  const context = parseContext(contextText);
  for (const name of args.clouds) {
    const cloud = config.clouds[name];
    if (cloud === undefined) continue; // the binder checked the names
    if (launch !== undefined && !LAUNCHERS.has(cloud.driver)) {
      const able = Object.entries(config.clouds)
        .filter(([, c]) => LAUNCHERS.has(c.driver))
        .map(([n]) => n);
      throw new VmopsError(
        'cloud_unsupported',
        `cloud ${name} (${cloud.driver}) cannot start instances: --launch works on ec2 clouds (${able.join(', ') || 'none configured'}). Nothing was queued.`,
      );
    }
    const template = readUserDataTemplate(cloud);
    if (template.userDataError !== undefined) {
      throw new VmopsError('bad_user_data', `cloud ${name}: ${template.userDataError}. Nothing was queued.`);
    }
    if (template.userDataTemplate !== undefined && (launch !== undefined || contextText !== undefined)) {
      renderUserData(
        template.userDataTemplate,
        { ...context, product: args.product, version: args.version, revision, cloud: name, job: 'check' },
        name,
      );
    }
  }
  const params: Record<string, string> = {};
  if (launch !== undefined) params.launch = String(launch);
  if (contextText !== undefined) params.context = contextText;
  return args.clouds.map((cloud) => ({
    stage: 'deploy',
    product: args.product,
    version: args.version ?? '',
    cloud,
    ...(Object.keys(params).length > 0 ? { params } : {}),
  }));
}

export const command: CommandSpec = {
  name: 'deploy',
  summary: 'deploy a published version to clouds',
  description:
    "Deploys the published image of the version to each cloud named: a directory cloud gets the files, a glance (OpenStack) or ec2 cloud an image upload whose checksum is checked against what the cloud reports. Deploying what is already there changes nothing and says so. --launch N then starts N instances with the cloud's user-data (ec2 clouds only), filled with the --context values (deploy 2.6 aws --launch 2 --context owner=alice,site=cern). A deploy to a cloud tagged production (policy.approvals.deployTags) waits for an approval: vmops answers with a request id, and it runs when an approver other than you approves it.",
  examples: ['deploy 2.6 local', 'deploy cernvm 2.6.1 local'],
  access: 'operator',
  args: [...PRODUCT_AND_VERSION, { name: 'cloud', kind: 'clouds' }],
  options: [
    {
      name: 'launch',
      type: 'integer',
      min: 1,
      max: 20,
      description: 'start this many instances after the upload (ec2 clouds)',
    },
    { name: 'context', type: 'string', description: 'user-data values: key=value pairs separated by commas' },
  ],
  // The approval gate asks before anything is read from the catalog: the revision does not change
  // whether a template renders.
  plan: (ctx, args) => queues(deployRequests(ctx.config, args, '0')),
  async run(ctx, args) {
    const version =
      args.version === undefined ? undefined : await ctx.catalog.version(args.product, args.version);
    const requests = deployRequests(ctx.config, args, String(version?.updates ?? 0));
    const jobs = await ctx.jobs.submit(requests, {
      principal: ctx.principal,
      message: ctx.message,
      commandText: ctx.commandText,
    });
    return { jobs };
  },
};
