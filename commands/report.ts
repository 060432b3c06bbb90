// `report <job>`: the full test report of a test job.

import { VmopsError } from '../src/errors.ts';
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { reportDetail } from '../src/render/test-report.ts';
import { findJob, jobArg } from './support/job-lookup.ts';

export const command: CommandSpec = {
  name: 'report',
  summary: 'show the full test report of a test job',
  description: 'Lists the totals of the job, then every failed test with its message, and the skipped ones.',
  examples: ['report k3x9q2ab-kvm'],
  access: 'known',
  args: [{ name: 'job', kind: 'job' }],
  async run(ctx, args) {
    const id = jobArg(args);
    const view = await findJob(ctx, id);
    const report = await ctx.catalog.report(id);
    if (!report) {
      const why =
        view.stage !== 'test'
          ? `job ${id} is a ${view.stage} job; reports come from test jobs.`
          : `job ${id} has no report (yet): it is ${view.state}.`;
      throw new VmopsError('not_ready', why);
    }
    return {
      reply: {
        text: `Test report of ${id} (${view.product} ${view.version} ${view.format ?? ''}):\n${reportDetail(report)}`,
        tone: 'info',
      },
    };
  },
};
