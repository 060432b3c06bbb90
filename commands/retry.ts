// `retry <job>`: queues a failed or cancelled job again under the same id.
import type { CommandSpec } from '../src/command-spec.ts';
import { jobArg } from './support/job-lookup.ts';

export const command: CommandSpec = {
  name: 'retry',
  summary: 'run a failed or cancelled job again',
  description: 'Queues the job again with the same arguments and id; a new status message follows it here.',
  examples: ['retry k3x9q2ab', 'retry k3x9q2ab-kvm'],
  access: 'operator',
  args: [{ name: 'job', kind: 'job' }],
  async run(ctx, args) {
    // Job control answers unknown_job and job_state itself.
    const view = await ctx.jobs.retry(jobArg(args), ctx.principal, ctx.message.target);
    return { jobs: [view.jobId] };
  },
};
