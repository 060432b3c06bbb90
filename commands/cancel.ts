// `cancel <job>`: stops a queued or running job.
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { printable } from '../src/grammar/echo.ts';
import { subject } from '../src/render/status-message.ts';
import { jobArg } from './support/job-lookup.ts';

export const command: CommandSpec = {
  name: 'cancel',
  summary: 'stop a queued or running job',
  description:
    "Removes a queued job from its queue, or kills the running step's processes; its status message says so.",
  examples: ['cancel k3x9q2ab', 'cancel k3x9q2ab-vmware'],
  access: 'operator',
  args: [{ name: 'job', kind: 'job' }],
  async run(ctx, args) {
    // Job control answers unknown_job and job_state itself; asking first would only open a race.
    const view = await ctx.jobs.cancel(jobArg(args), ctx.principal);
    const id = printable(view.jobId);
    if (view.state === 'cancelled')
      return { reply: { text: `Cancelled ${id}: ${subject(view)}.`, tone: 'ok' } };
    // A running job stops when its worker has killed the step.
    const text = `Cancel requested for ${id}; its status message will say when it has stopped.`;
    return { reply: { text, tone: 'info' } };
  },
};
