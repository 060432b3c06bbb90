// `jobs [--limit N]`: the most recent jobs, one line each.
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { jobList } from '../src/render/job-line.ts';

export const DEFAULT_JOB_LIMIT = 10;

export const command: CommandSpec = {
  name: 'jobs',
  aliases: ['queue'],
  summary: 'list recent jobs',
  description: `Shows the most recent jobs, newest first: id, what, state, step and who asked (${DEFAULT_JOB_LIMIT} unless --limit says otherwise).`,
  examples: ['jobs', 'jobs --limit 30', 'jobs limit=5'],
  access: 'known',
  args: [],
  options: [
    {
      name: 'limit',
      type: 'integer',
      min: 1,
      max: 50,
      description: `how many jobs to show (default ${DEFAULT_JOB_LIMIT})`,
    },
  ],
  async run(ctx, args) {
    const limit = typeof args.options.limit === 'number' ? args.options.limit : DEFAULT_JOB_LIMIT;
    return { reply: { text: jobList(await ctx.jobs.list(limit)), tone: 'info' } };
  },
};
