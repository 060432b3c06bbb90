// Reads a command will need, started while its event is still being admitted (the claim and the
// throttle's count are on their way to Redis): a command that queues jobs reads whether its jobs exist
// and what the lifecycle gates say, and whether the policy wants an approval, in the same round trip
// as its admission instead of one after. Nothing is written here and nothing is said: whatever is
// wrong with the command (unknown, not allowed, bad arguments) is left for the pipeline to find again
// and answer, once the event is admitted. An event that is not admitted only cost a few reads. A
// command looked ahead for is read, allowed and bound once: the pipeline takes it from here.
import type { Config } from '../../config/schema.ts';
import { approvalReason } from '../approvals/approval-policy.ts';
import type { CommandRegistry } from '../grammar/command-registry.ts';
import type { CatalogReader, JobControl, ParsedCommand, SubmitLookAhead } from '../grammar/command-spec.ts';
import { bindCommand, readCommand } from '../grammar/parse-command.ts';
import type { Vocabulary } from '../grammar/vocabulary.ts';
import { authorize } from '../people/authorize.ts';
import type { IncomingMessage, Principal } from '../types.ts';

export interface LookAhead {
  /** The command as read, allowed and bound here (the pipeline takes it instead of doing it again). */
  bound: ParsedCommand;
  /** The approval gate's answer for this command. */
  approval: Promise<string | undefined>;
  /** The job reads, for `JobControl.submit`. */
  submit: SubmitLookAhead | undefined;
}

export interface LookAheadDeps {
  config: Config;
  registry: CommandRegistry;
  vocabulary: Vocabulary;
  jobs: JobControl;
  catalog: CatalogReader;
}

/** Starts the reads of a command that queues jobs; undefined for any other command, or a text that is not one. */
export function lookAhead(
  text: string,
  principal: Principal,
  message: IncomingMessage,
  deps: LookAheadDeps,
): LookAhead | undefined {
  try {
    const head = readCommand(text, deps.registry, deps.config.bot.maxCommandLength);
    if (!head.ok) return undefined;
    authorize(principal, head.value.spec, deps.config.policy);
    const bound = bindCommand(head.value, deps.vocabulary, deps.registry);
    if (!bound.ok) return undefined;
    const { spec, args } = bound.value;
    const plan = spec.plan?.({ config: deps.config }, args);
    if (plan?.acts !== 'queue' || !deps.jobs.lookAhead) return undefined;
    const approval = approvalReason(spec.name, args, deps.config, deps.catalog);
    approval.catch(() => undefined); // unused when the event is not admitted: the pipeline asks again if it is
    return {
      bound: bound.value,
      approval,
      submit: deps.jobs.lookAhead(plan.requests, message),
    };
  } catch {
    return undefined; // refused (not allowed): the pipeline says so
  }
}
