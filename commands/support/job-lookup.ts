// Shared by the job commands: the job id argument, and a job that must exist.

import { VmopsError } from '../../src/errors.ts';
import type { BoundArgs, CommandContext } from '../../src/grammar/command-spec.ts';
import { unknownJob } from '../../src/queue/unknown-job.ts';
import type { JobStatusView } from '../../src/types.ts';

export function jobArg(args: BoundArgs): string {
  const id = args.words.job;
  if (id === undefined)
    throw new VmopsError('missing_argument', 'a job id is needed: type jobs to see recent jobs');
  return id;
}

/** The job's current view; `unknown_job` when there is none. */
export async function findJob(ctx: CommandContext, id: string): Promise<JobStatusView> {
  const view = await ctx.jobs.get(id);
  if (view === undefined) throw unknownJob(id);
  return view;
}
