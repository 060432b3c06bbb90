// Shared by the six stage commands: queue one job per request and answer with their ids; the status
// messages themselves are posted by the notifier.
import type { BoundArgs, CommandContext, CommandOutcome, StageRequest } from '../../src/command-spec.ts';
import { VmopsError } from '../../src/errors.ts';
import { commandText } from '../../src/grammar/addressing.ts';

/** The version the binder checked; a command whose grammar requires one always has it. */
export function requireVersion(args: BoundArgs): string {
  if (args.version === undefined) throw new VmopsError('missing_argument', 'a version is needed, like 2.6');
  return args.version;
}

/** The formats named, or every format of the product when none was. */
export function formatsOrAll(ctx: CommandContext, args: BoundArgs): string[] {
  if (args.formats.length > 0) return args.formats;
  return [...(ctx.config.products[args.product]?.formats ?? [])];
}

/** Queues the requests for the asker and returns their job ids. */
export async function submitStages(ctx: CommandContext, requests: StageRequest[]): Promise<CommandOutcome> {
  const text = commandText(ctx.message, ctx.config.bot.name) ?? ctx.message.text.trim();
  const jobs = await ctx.jobs.submit(requests, {
    principal: ctx.principal,
    message: ctx.message,
    commandText: text,
  });
  return { jobs };
}
