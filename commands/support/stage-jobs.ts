// Shared by the six stage commands: their common arguments, and the jobs they queue (one per format,
// one per cloud, or one for the version), answered with the job ids; the status messages themselves
// are posted by the notifier.
import type { Config } from '../../config/schema.ts';
import { VmopsError } from '../../src/errors.ts';
import type {
  ArgSpec,
  BoundArgs,
  CommandContext,
  CommandOutcome,
  CommandPlan,
  StageRequest,
} from '../../src/grammar/command-spec.ts';
import type { Stage } from '../../src/types.ts';

/** `[product] <version>`, which every stage command starts with. */
export const PRODUCT_AND_VERSION: readonly ArgSpec[] = [
  { name: 'product', kind: 'product', optional: true },
  { name: 'version', kind: 'version' },
];

/** The version the binder checked; a command whose grammar requires one always has it. */
function requireVersion(args: BoundArgs): string {
  if (args.version === undefined) throw new VmopsError('missing_argument', 'a version is needed, like 2.6');
  return args.version;
}

/** Queues the requests for the asker and returns their job ids. */
async function submitStages(ctx: CommandContext, requests: StageRequest[]): Promise<CommandOutcome> {
  const jobs = await ctx.jobs.submit(requests, {
    principal: ctx.principal,
    message: ctx.message,
    commandText: ctx.commandText,
  });
  return { jobs };
}

/** One request per format named, or per format of the product when none is. */
export function perFormatRequests(config: Config, args: BoundArgs, stage: Stage): StageRequest[] {
  const version = requireVersion(args);
  const formats = args.formats.length > 0 ? args.formats : (config.products[args.product]?.formats ?? []);
  return formats.map((format) => ({ stage, product: args.product, version, format }));
}

/** One request per cloud named. */
export function perCloudRequests(args: BoundArgs, stage: Stage): StageRequest[] {
  const version = requireVersion(args);
  return args.clouds.map((cloud) => ({ stage, product: args.product, version, cloud }));
}

/** One request for the version, with parameters for the steps when there are any. */
export function versionRequest(
  args: BoundArgs,
  stage: Stage,
  params: Record<string, string> = {},
): StageRequest {
  const request: StageRequest = { stage, product: args.product, version: requireVersion(args) };
  if (Object.keys(params).length > 0) request.params = params;
  return request;
}

/** What a stage command declares to the approval gate: the jobs it would queue. */
export const queues = (requests: StageRequest[]): CommandPlan => ({ acts: 'queue', requests });

/** One job per format named, or per format of the product when none is. */
export const perFormatJobs = (ctx: CommandContext, args: BoundArgs, stage: Stage): Promise<CommandOutcome> =>
  submitStages(ctx, perFormatRequests(ctx.config, args, stage));

/** One job per cloud named. */
export const perCloudJobs = (ctx: CommandContext, args: BoundArgs, stage: Stage): Promise<CommandOutcome> =>
  submitStages(ctx, perCloudRequests(args, stage));

/** One job for the version, with parameters for the steps when there are any. */
export const versionJob = (
  ctx: CommandContext,
  args: BoundArgs,
  stage: Stage,
  params: Record<string, string> = {},
): Promise<CommandOutcome> => submitStages(ctx, [versionRequest(args, stage, params)]);
