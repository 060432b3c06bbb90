// The pipeline, top to bottom: address → ingress → read the command word → identify → authorize →
// bind the arguments → approval gate → run (enqueue) → reply, and announce each job's status message.
// Arguments are bound only after authorization, so a guest learns nothing of the config from
// did-you-mean replies. Every refusal is a reply; nothing here throws.
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { CommandRegistry } from '../command-registry.ts';
import type { CatalogReader, CommandSpec, JobControl, RoomSubscriptions } from '../command-spec.ts';
import { asVmopsError, VmopsError } from '../errors.ts';
import { commandText } from '../grammar/addressing.ts';
import { bindCommand, readCommand } from '../grammar/parse-command.ts';
import type { Vocabulary } from '../grammar/vocabulary.ts';
import type { AgentInfo } from '../jobs/agent-presence.ts';
import type { ChatTarget, IncomingMessage, Reply } from '../types.ts';
import { approvalReason } from './approval-gate.ts';
import { accessFor, authorize, mayRun } from './authorize.ts';
import type { Identities } from './identify.ts';
import { admit, type IngressOptions } from './ingress.ts';

export interface PipelineDeps {
  config: Config;
  registry: CommandRegistry;
  vocabulary: Vocabulary;
  identities: Identities;
  ingress: IngressOptions;
  jobs: JobControl;
  catalog: CatalogReader;
  liveWorkers(): Promise<AgentInfo[]>;
  subscriptions: RoomSubscriptions;
  /** Sends a reply to a room. */
  reply(target: ChatTarget, reply: Reply): Promise<unknown>;
  /** Posts the status message of a job just queued. */
  announce(jobId: string, target: ChatTarget): Promise<void>;
  log: Logger;
}

/** What happened to a message: for callers that wait on jobs (local mode) and for tests. */
export interface HandledMessage {
  outcome: 'ignored' | 'refused' | 'done' | 'failed';
  jobs: string[];
}

const IGNORED: HandledMessage = { outcome: 'ignored', jobs: [] };

/** Failures that may pass on redelivery, so the event is not marked done. */
const TRANSIENT = new Set(['internal_error', 'redis_unavailable']);

export async function handleMessage(message: IncomingMessage, deps: PipelineDeps): Promise<HandledMessage> {
  const text = commandText(message, deps.config.bot.name);
  if (text === undefined) return IGNORED;
  const log = deps.log.child({
    adapter: message.target.network,
    eventId: message.eventId,
    account: message.sender.id,
  });
  const verdict = await admit(message, deps.ingress).catch((error: unknown) => {
    log.error({ err: error }, 'ingress failed; the message is not handled');
    return undefined;
  });
  if (!verdict?.admit) {
    if (verdict) log.debug({ reason: verdict.reason }, 'message dropped');
    return IGNORED;
  }
  const answer = (reply: Reply) =>
    deps.reply(message.target, reply).catch((error: unknown) => log.warn({ err: error }, 'reply failed'));
  const principal = deps.identities(message.target.network, message.sender);
  let clog = log.child({ person: principal.id });

  let outcome: HandledMessage;
  try {
    const head = readCommand(text, deps.registry, deps.config.bot.maxCommandLength);
    if (!head.ok) throw head.error;
    clog = clog.child({ command: head.value.spec.name });
    authorize(principal, head.value.spec, deps.config.policy);
    const parsed = bindCommand(head.value, deps.vocabulary, deps.registry);
    if (!parsed.ok) throw parsed.error;
    const { spec, args } = parsed.value;
    const needsApproval = approvalReason(spec, args, deps.config);
    if (needsApproval) {
      throw new VmopsError(
        'not_available',
        `${needsApproval}, and this version of vmops cannot ask for approvals yet: nothing was done.`,
      );
    }
    const result = await spec.run(
      {
        config: deps.config,
        principal,
        message,
        commandText: parsed.value.text,
        jobs: deps.jobs,
        catalog: deps.catalog,
        liveWorkers: deps.liveWorkers,
        subscriptions: deps.subscriptions,
        commands: deps.registry.all(),
        may: (other: CommandSpec) => mayRun(principal, accessFor(other, deps.config.policy)),
        log: clog,
      },
      args,
    );
    if (result.reply) await answer(result.reply);
    const jobs = result.jobs ?? [];
    for (const jobId of jobs) await deps.announce(jobId, message.target);
    clog.info({ jobs }, 'command done');
    outcome = { outcome: 'done', jobs };
  } catch (error) {
    const failure = asVmopsError(error);
    const transient = TRANSIENT.has(failure.code);
    if (failure.code === 'internal_error') {
      clog.error({ err: error }, 'command failed');
      await answer({
        text: `Something went wrong inside vmops (internal_error); nothing more is known here. The bot's log has the details under event ${message.eventId}.`,
        tone: 'error',
      });
    } else {
      clog.info({ code: failure.code }, 'command refused');
      await answer({ text: failure.message, tone: 'error' });
    }
    outcome = { outcome: transient ? 'failed' : 'refused', jobs: [] };
  }
  await verdict
    .release(outcome.outcome === 'failed' ? 'failed' : 'done')
    .catch((error: unknown) => clog.warn({ err: error }, 'could not release the event claim; it will lapse'));
  return outcome;
}
