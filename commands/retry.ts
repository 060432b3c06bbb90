// `retry <job>`: queues a failed or cancelled job again under the same id. A job whose command needed
// an approval (a revoke, a production deploy, …) is not retried without a new one.
import { approvalReason } from '../src/approvals/approval-policy.ts';
import type { CommandSpec } from '../src/command-spec.ts';
import { VmopsError } from '../src/errors.ts';
import { unknownJob } from '../src/jobs/job-control.ts';
import { jobArg } from './support/job-lookup.ts';

export const command: CommandSpec = {
  name: 'retry',
  summary: 'run a failed or cancelled job again',
  description:
    'Queues the job again with the same arguments and id; a new status message follows it here. A job that needed an approval needs a new one: ask for it again with the command itself.',
  examples: ['retry k3x9q2ab', 'retry k3x9q2ab-kvm'],
  access: 'operator',
  args: [{ name: 'job', kind: 'job' }],
  async run(ctx, args) {
    const id = jobArg(args);
    const found = await ctx.jobs.get(id);
    if (!found) throw unknownJob(id);
    const asCommand = { ...command, name: found.stage };
    const bound = {
      product: found.product,
      version: found.version,
      formats: found.format ? [found.format] : [],
      clouds: found.cloud ? [found.cloud] : [],
      events: [],
      words: {},
      options: {},
    };
    const reason = await approvalReason(asCommand, bound, ctx.config, ctx.catalog);
    if (reason) {
      const what = [found.stage, found.product, found.version, found.format ?? found.cloud]
        .filter(Boolean)
        .join(' ');
      throw new VmopsError(
        'approval_required',
        `${id} is a ${found.stage} job, and ${reason}: retrying it needs a new approval. Ask again with \`${what}\`.`,
      );
    }
    // Job control answers job_state itself (and unknown_job, should the job vanish meanwhile).
    const view = await ctx.jobs.retry(id, ctx.principal, ctx.message.target);
    return { jobs: [view.jobId] };
  },
};
