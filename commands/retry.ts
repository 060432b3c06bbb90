// `retry <job>`: queues a failed or cancelled job again under the same id. A job whose command needed
// an approval (a revoke, a production deploy, …) is not retried without a new one.
import { approvalReason } from '../src/approvals/approval-policy.ts';
import { VmopsError } from '../src/errors.ts';
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { subject } from '../src/render/status-message.ts';
import { findJob, jobArg } from './support/job-lookup.ts';

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
    const found = await findJob(ctx, id);
    const clouds = found.cloud ? [found.cloud] : [];
    const reason = await approvalReason(found.stage, { ...found, clouds }, ctx.config, ctx.catalog);
    if (reason) {
      throw new VmopsError(
        'approval_required',
        `${id} is a ${found.stage} job, and ${reason}: retrying it needs a new approval. Ask again with \`${subject(found)}\`.`,
      );
    }
    // Job control answers job_state itself (and unknown_job, should the job vanish meanwhile).
    const view = await ctx.jobs.retry(id, ctx.principal, ctx.message.target);
    return { jobs: [view.jobId] };
  },
};
