// `status [job]`: one job in detail, or the recent jobs like `jobs`.
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { jobDetail, jobList } from '../src/render/job-line.ts';
import { DEFAULT_JOB_LIMIT } from './jobs.ts';
import { findJob } from './support/job-lookup.ts';

export const command: CommandSpec = {
  name: 'status',
  summary: 'show where a job stands (without a job: the recent jobs)',
  description:
    'With a job id: its state, step, progress, timing, last message and error. Without: the same list as jobs.',
  examples: ['status', 'status k3x9q2ab', 'status k3x9q2ab-kvm'],
  access: 'known',
  args: [{ name: 'job', kind: 'job', optional: true }],
  async run(ctx, args) {
    const id = args.words.job;
    if (id === undefined)
      return { reply: { text: jobList(await ctx.jobs.list(DEFAULT_JOB_LIMIT)), tone: 'info' } };
    return { reply: { text: jobDetail(await findJob(ctx, id)), tone: 'info' } };
  },
};
