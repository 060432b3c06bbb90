// `cancel <job>`: stops a queued or running job.
import type { CommandSpec } from '../src/command-spec.ts';
import { jobLine } from '../src/render/job-line.ts';
import { findJob, jobArg } from './support/job-lookup.ts';

export const command: CommandSpec = {
  name: 'cancel',
  summary: 'stop a queued or running job',
  description:
    "Removes a queued job from its queue, or kills the running step's processes; its status message says so.",
  examples: ['cancel k3x9q2ab', 'cancel k3x9q2ab-vmware'],
  access: 'operator',
  args: [{ name: 'job', kind: 'job' }],
  async run(ctx, args) {
    const found = await findJob(ctx, jobArg(args));
    const view = await ctx.jobs.cancel(found.jobId, ctx.principal);
    return { reply: { text: `Cancelled: ${jobLine(view)}`, tone: 'ok' } };
  },
};
