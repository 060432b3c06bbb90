// `log <job> [--tail N]`: the last lines a job's steps printed.
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { printable } from '../src/grammar/echo.ts';
import { unknownJob } from '../src/queue/unknown-job.ts';
import { jobArg } from './support/job-lookup.ts';

export const DEFAULT_LOG_TAIL = 20;
const MAX_LINE = 300;

export const command: CommandSpec = {
  name: 'log',
  aliases: ['logs'],
  summary: "show the last lines of a job's log",
  description: `Shows the last ${DEFAULT_LOG_TAIL} lines the job's steps printed, or as many as --tail says.`,
  examples: ['log k3x9q2ab', 'log k3x9q2ab-kvm --tail 100', 'log k3x9q2ab tail=5'],
  access: 'known',
  args: [{ name: 'job', kind: 'job' }],
  options: [
    {
      name: 'tail',
      type: 'integer',
      min: 1,
      max: 500,
      description: `how many lines to show (default ${DEFAULT_LOG_TAIL})`,
    },
  ],
  async run(ctx, args) {
    const id = jobArg(args);
    const shownId = printable(id);
    const tail = typeof args.options.tail === 'number' ? args.options.tail : DEFAULT_LOG_TAIL;
    const lines = await ctx.jobs.logs(id, tail);
    if (lines === undefined) throw unknownJob(id);
    if (lines.length === 0) return { reply: { text: `Job ${shownId} has no log lines yet.`, tone: 'info' } };
    const shown = lines.map((line) => printable(line, MAX_LINE));
    const heading = `Log of ${shownId}, last ${lines.length} line${lines.length === 1 ? '' : 's'}:`;
    return { reply: { text: [heading, ...shown].join('\n'), tone: 'info' } };
  },
};
