// The pipeline, top to bottom: ingress → address → parse → identify → authorize → run (enqueue) →
// reply and announce each job's status message. Every refusal is a reply; nothing here throws.
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { CommandRegistry } from '../command-registry.ts';
import type { CommandSpec, JobControl } from '../command-spec.ts';
import { asVmopsError } from '../errors.ts';
import { commandText } from '../grammar/addressing.ts';
import { parseCommand } from '../grammar/parse-command.ts';
import type { Vocabulary } from '../grammar/vocabulary.ts';
import type { ChatTarget, IncomingMessage, Reply } from '../types.ts';
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

  const parsed = parseCommand(text, deps.registry, deps.vocabulary, deps.config.bot.maxCommandLength);
  const principal = deps.identities(message.target.network, message.sender);
  const plog = log.child({ person: principal.id });
  if (!parsed.ok) {
    plog.info({ code: parsed.error.code }, 'command refused');
    await answer({ text: parsed.error.message, tone: 'error' });
    await verdict.release('done');
    return { outcome: 'refused', jobs: [] };
  }
  const { spec, args } = parsed.value;
  const clog = plog.child({ command: spec.name });
  try {
    authorize(principal, spec, deps.config.policy);
    const outcome = await spec.run(
      {
        config: deps.config,
        principal,
        message,
        jobs: deps.jobs,
        commands: deps.registry.all(),
        may: (other: CommandSpec) => mayRun(principal, accessFor(other, deps.config.policy)),
        log: clog,
      },
      args,
    );
    if (outcome.reply) await answer(outcome.reply);
    const jobs = outcome.jobs ?? [];
    for (const jobId of jobs) await deps.announce(jobId, message.target);
    clog.info({ jobs }, 'command done');
    await verdict.release('done');
    return { outcome: 'done', jobs };
  } catch (error) {
    const failure = asVmopsError(error);
    if (failure.code === 'internal_error') clog.error({ err: error }, 'command failed');
    else clog.info({ code: failure.code }, 'command refused');
    await answer({ text: failure.message, tone: 'error' });
    // A bug or an unreachable Redis may pass on redelivery; a refusal will not.
    const transient = failure.code === 'internal_error' || failure.code === 'redis_unavailable';
    await verdict.release(transient ? 'failed' : 'done');
    return { outcome: transient ? 'failed' : 'refused', jobs: [] };
  }
}
