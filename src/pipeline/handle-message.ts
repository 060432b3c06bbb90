// The pipeline, top to bottom: address → ingress → read the command word → identify → authorize →
// bind the arguments → approval gate → run (enqueue) → reply, and announce each job's status message.
// Arguments are bound only after authorization, so a guest learns nothing of the config from
// did-you-mean replies. A command the policy says needs an approval becomes a request instead of
// running; `executeApproved` runs it later, exactly as asked, as the requester. Every handled command
// is written to the audit trail. Every refusal is a reply; nothing here throws.
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import { type ApprovalDesk, argsKey } from '../approvals/approval-desk.ts';
import { approvalReason } from '../approvals/approval-policy.ts';
import type { ApprovalRequest } from '../approvals/approval-store.ts';
import type { AuditFact, AuditTrail } from '../audit/audit-trail.ts';
import { accountKey, roomKey } from '../chat/chat-keys.ts';
import { asVmopsError, VmopsError } from '../errors.ts';
import { commandText } from '../grammar/addressing.ts';
import type { CommandRegistry } from '../grammar/command-registry.ts';
import type {
  CatalogReader,
  CommandContext,
  CommandOutcome,
  CommandSpec,
  JobControl,
  RoomSubscriptions,
  SubmitCommit,
  SubmitLookAhead,
} from '../grammar/command-spec.ts';
import { bindCommand, readCommand } from '../grammar/parse-command.ts';
import type { Vocabulary } from '../grammar/vocabulary.ts';
import { traceOfEvent } from '../observability/trace.ts';
import type { OnCallDesk } from '../oncall/oncall-desk.ts';
import { accessFor, authorize, mayRun } from '../people/authorize.ts';
import type { Identities } from '../people/identify.ts';
import type { AgentInfo } from '../queue/agent-presence.ts';
import type { ChatTarget, IncomingMessage, JobData, Principal, Reply } from '../types.ts';
import type { AwayNotices } from './away-notices.ts';
import { type CommandCommit, commitCommand, type ReservationInScript } from './commit-command.ts';
import { hiddenSenderNotice } from './hidden-sender-notice.ts';
import { type Admission, admit, type IngressOptions, screen } from './ingress.ts';
import { lookAhead } from './look-ahead.ts';
import type { Throttle } from './throttle.ts';

export interface PipelineDeps {
  config: Config;
  registry: CommandRegistry;
  vocabulary: Vocabulary;
  identities: Identities;
  ingress: IngressOptions;
  /** Where commands ignored for their age are noted, for one notice per room per return. */
  away?: AwayNotices;
  jobs: JobControl;
  catalog: CatalogReader;
  liveWorkers(): Promise<AgentInfo[]>;
  subscriptions: RoomSubscriptions;
  approvals: ApprovalDesk;
  oncall: OnCallDesk;
  audit: AuditTrail;
  /** Sends a reply to a room. */
  reply(target: ChatTarget, reply: Reply): Promise<unknown>;
  /** Posts the status message of a job just queued. */
  announce(jobId: string, target: ChatTarget): Promise<void>;
  /**
   * A job's status message reserved in the script that queues it, then posted (see commit-command.ts);
   * `data`: the job as queued, which its first post shows unless it moved on meanwhile.
   */
  reserveInScript?(jobId: string, target: ChatTarget, data: JobData): ReservationInScript;
  /** Web console sign-in links, for `login`. */
  logins?: CommandContext['logins'];
  /** Whether a room whose senders the network hides is to be told why now (once per room, hidden-sender-notice.ts). */
  firstHiddenSender?(target: ChatTarget): Promise<boolean>;
  /** Commands per person per window (a flood gets one reply, then silence). */
  throttle?: Throttle;
  /** Counts a message addressed to the bot: how it ended and its command (`unknown`, `none` when there was none). */
  observe?(outcome: HandledMessage['outcome'] | 'throttled', command: string): void;
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

function contextFor(
  deps: PipelineDeps,
  principal: Principal,
  message: IncomingMessage,
  text: string,
  log: Logger,
  ahead?: SubmitLookAhead,
  commit?: SubmitCommit,
): CommandContext {
  const { jobs } = deps;
  return {
    config: deps.config,
    principal,
    message,
    commandText: text,
    jobs: ahead
      ? { ...jobs, submit: (requests, context) => jobs.submit(requests, context, ahead, commit) }
      : jobs,
    catalog: deps.catalog,
    liveWorkers: deps.liveWorkers,
    subscriptions: deps.subscriptions,
    commands: deps.registry.all(),
    may: (other: CommandSpec) => mayRun(principal, accessFor(other, deps.config.policy)),
    approvals: deps.approvals,
    oncall: deps.oncall,
    audit: deps.audit,
    ...(deps.logins ? { logins: deps.logins } : {}),
    log,
  };
}

/**
 * Handles one message. `admission` is given for a message the intake took in (src/intake/): its age is
 * judged at the moment it was taken in, and the intake's claim on it is taken over.
 */
export async function handleMessage(
  message: IncomingMessage,
  deps: PipelineDeps,
  admission?: Admission,
): Promise<HandledMessage> {
  const text = commandText(message, deps.config.bot.name);
  if (text === undefined) return IGNORED;
  const principal = deps.identities(message.target.network, message.sender);
  const log = deps.log.child({
    adapter: message.target.network,
    eventId: message.eventId,
    account: message.sender.id,
    person: principal.id,
    trace: traceOfEvent(message.target.network, message.eventId),
  });
  const throttle = (): Promise<{ allowed: boolean; reply?: string | undefined } | undefined> =>
    deps.throttle?.check(principal.id, message.target.network).catch((error: unknown) => {
      log.warn({ err: error }, 'throttle unavailable; the command is let through');
      return { allowed: true, reply: undefined };
    }) ?? Promise.resolve(undefined);
  // An entry of the intake was claimed when it was taken in, so its claim is all but certain: the
  // throttle is counted in the same round trip. Anything else is counted only once admitted.
  const early =
    admission?.fromIntake && screen(message, deps.ingress.maxAgeMs, admission.takenAt) === undefined
      ? throttle()
      : undefined;
  const admitting = admit(message, deps.ingress, admission);
  // A command that queues jobs starts its reads now, side by side with its admission (look-ahead.ts).
  const ahead = lookAhead(text, principal, message, deps);
  const verdict = await admitting.catch((error: unknown) => {
    log.error({ err: error }, 'ingress failed; the message is not handled');
    return undefined;
  });
  if (!verdict?.admit) {
    if (verdict?.tell) {
      log.info({ room: message.target.room, sentAt: message.sentAt }, 'command too old to run; ignored');
      await deps.away
        ?.ignored(message)
        .catch((error: unknown) =>
          log.warn({ err: error }, 'could not note an ignored command for the away notice'),
        );
    } else if (verdict) log.debug({ reason: verdict.reason }, 'message dropped');
    deps.observe?.(verdict ? 'ignored' : 'failed', 'none');
    return IGNORED;
  }
  log.info({ room: message.target.room, direct: message.target.isDirect }, 'message received');
  const answer = (reply: Reply) =>
    deps.reply(message.target, reply).then(
      () => log.info({ tone: reply.tone }, 'reply sent'),
      (error: unknown) => log.warn({ err: error }, 'reply failed'),
    );
  let clog = log;
  const hidden = message.sender.hiddenBecause;
  if (hidden && deps.firstHiddenSender) {
    // A guest whoever it is: the room hears once why, before the first refusal.
    const tell = await deps.firstHiddenSender(message.target).catch((error: unknown) => {
      clog.warn({ err: error }, 'could not note the hidden-sender notice; the room is not told now');
      return false;
    });
    if (tell) {
      clog.info(
        { room: message.target.room },
        'the network hides who sends commands here; the room is told once',
      );
      await answer({
        text: hiddenSenderNotice(deps.config.bot.name, message.target.room, hidden),
        tone: 'error',
      });
    }
  }
  /** Writes what happened to this message to the audit trail; a failure there is logged, not fatal. */
  const audit = (fact: Pick<AuditFact, 'kind' | 'summary' | 'detail'>) =>
    deps.audit.record(
      { ...fact, actor: principal.id, account: accountKey(principal), room: roomKey(message.target) },
      clog,
    );
  const throttled = await (early ?? throttle());
  if (throttled && !throttled.allowed) {
    clog.info({ replied: Boolean(throttled.reply) }, 'command dropped: too many from this person');
    if (throttled.reply) {
      await answer({ text: throttled.reply, tone: 'error' });
      // Only the first dropped command of a window is written down: a flood must not flood the trail.
      await audit({
        kind: 'command.throttled',
        summary: `${principal.id} gave too many commands; dropping them for a while`,
        detail: { event: message.eventId, code: 'throttled' },
      });
    }
    await verdict.release('done').catch(() => undefined);
    deps.observe?.('throttled', 'none');
    return { outcome: 'refused', jobs: [] };
  }

  /** What the audit trail says of this command. */
  const commandFact = (ended: HandledMessage, code: string | undefined): AuditFact => ({
    kind: 'command',
    summary: `${principal.id}: ${text.slice(0, 500)}`,
    detail: {
      outcome: ended.outcome,
      code: code ?? null,
      jobs: ended.jobs.join(',') || null,
      event: message.eventId,
    },
    actor: principal.id,
    account: accountKey(principal),
    room: roomKey(message.target),
  });
  let outcome: HandledMessage;
  let code: string | undefined;
  let command = 'unknown';
  let commit: CommandCommit | undefined;
  try {
    // Read, allowed and bound already when looked ahead for (the same text, person and config).
    let parsed = ahead?.bound;
    if (parsed) {
      command = parsed.spec.name;
      clog = clog.child({ command });
    } else {
      const head = readCommand(text, deps.registry, deps.config.bot.maxCommandLength);
      if (!head.ok) throw head.error;
      command = head.value.spec.name;
      clog = clog.child({ command });
      authorize(principal, head.value.spec, deps.config.policy);
      const bound = bindCommand(head.value, deps.vocabulary, deps.registry);
      if (!bound.ok) throw bound.error;
      parsed = bound.value;
    }
    const { spec, args } = parsed;
    const needsApproval = await (ahead?.approval ??
      approvalReason(spec.name, args, deps.config, deps.catalog));
    let result: CommandOutcome;
    if (needsApproval) {
      // Nothing of the command runs before the approval: it declares what it would do. Jobs it would
      // queue that the gates refuse now are refused now, not after someone approved them; a command
      // that acts by itself (no plan) is only asked about.
      const plan = spec.plan?.({ config: deps.config }, args) ?? { acts: 'itself' };
      if (plan.acts === 'queue') await deps.jobs.check(plan.requests);
      const reply = await deps.approvals.request({
        command: spec.name,
        text: parsed.text,
        args,
        reason: needsApproval,
        requester: principal,
        message,
      });
      result = { reply };
      code = 'approval_requested';
    } else {
      // A command of one job (looked ahead) ends in the script that queues it (commit-command.ts).
      const reserveInScript = deps.reserveInScript;
      if (ahead?.submit?.requests.length === 1 && reserveInScript) {
        commit = commitCommand({
          audit: deps.audit,
          fact: (jobId) => commandFact({ outcome: 'done', jobs: [jobId] }, undefined),
          release: verdict.releaseStep('done'),
          reserve: (jobId, data) => reserveInScript(jobId, message.target, data),
        });
      }
      result = await spec.run(
        contextFor(deps, principal, message, parsed.text, clog, ahead?.submit, commit),
        args,
      );
    }
    if (result.reply) await answer(result.reply);
    const jobs = result.jobs ?? [];
    for (const jobId of jobs) if (jobId !== commit?.committed) await deps.announce(jobId, message.target);
    clog.info({ jobs }, 'command done');
    outcome = { outcome: 'done', jobs: [...jobs, ...(result.startedElsewhere ?? [])] };
  } catch (error) {
    const failure = asVmopsError(error);
    code = failure.code;
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
  deps.observe?.(outcome.outcome, command);
  if (commit?.committed !== undefined) {
    // Its audit entry and its release went with its job.
    verdict.released();
    if (outcome.outcome === 'done' && outcome.jobs.join() === commit.committed) return outcome;
    clog.warn({ jobs: outcome.jobs }, 'the command ended otherwise than its job said: written down again');
  }
  // The audit entry and the release of the event's claim in one script: the event is never marked done
  // without its entry. If the entry cannot be written, the claim is released alone (the failure is logged).
  const release = outcome.outcome === 'failed' ? 'failed' : 'done';
  const fact = commandFact(outcome, code);
  if (await deps.audit.record(fact, clog, verdict.releaseStep(release))) verdict.released();
  else
    await verdict
      .release(release)
      .catch((error: unknown) =>
        clog.warn({ err: error }, 'could not release the event claim; it will lapse'),
      );
  return outcome;
}

/**
 * Runs an approved request as its requester: the stored text is read again and must bind to exactly
 * the arguments that were approved; the requester must still be allowed to run it. The jobs' status
 * messages go to the room that asked.
 */
export async function executeApproved(request: ApprovalRequest, deps: PipelineDeps): Promise<CommandOutcome> {
  const { message } = request;
  const principal = deps.identities(message.target.network, message.sender);
  const log = deps.log.child({
    request: request.id,
    person: principal.id,
    command: request.command,
    trace: traceOfEvent(message.target.network, message.eventId),
  });
  const head = readCommand(request.text, deps.registry, deps.config.bot.maxCommandLength);
  if (!head.ok) throw head.error;
  authorize(principal, head.value.spec, deps.config.policy);
  const parsed = bindCommand(head.value, deps.vocabulary, deps.registry);
  if (!parsed.ok) throw parsed.error;
  if (parsed.value.spec.name !== request.command || argsKey(parsed.value.args) !== argsKey(request.args)) {
    throw new VmopsError(
      'arguments_changed',
      `${request.text} would now mean something else than what was approved (the configuration changed): ask again.`,
    );
  }
  const result = await parsed.value.spec.run(
    contextFor(deps, principal, message, parsed.value.text, log),
    parsed.value.args,
  );
  for (const jobId of result.jobs ?? []) await deps.announce(jobId, message.target);
  log.info({ jobs: result.jobs ?? [] }, 'approved command done');
  return result;
}
