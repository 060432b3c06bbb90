// What a chat command is: its grammar, help, policy and handler. Each file in commands/ exports one
// CommandSpec; the registry (src/grammar/command-registry.ts) collects them and rejects clashes.

import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { ApprovalAnswerInput, ApprovalView } from '../approvals/approval-types.ts';
import type { AuditTrail } from '../audit/audit-trail.ts';
import type { VersionRecord } from '../catalog/catalog.ts';
import type { CloudDeployment } from '../clouds/deployment-record.ts';
import type { OnCallDesk } from '../oncall/oncall-desk.ts';
import type { AgentInfo } from '../queue/agent-presence.ts';
import type { PreparedQueueing, QueueOutcome } from '../queue/queue-job.ts';
import type { TestReport } from '../reports/test-report.ts';
import type {
  Access,
  BoundArgs,
  ChatTarget,
  IncomingMessage,
  JobStatusView,
  Principal,
  Reply,
  Stage,
} from '../types.ts';

export type { BoundArgs } from '../types.ts';

/**
 * The kinds of positional argument the grammar knows. The binder (src/grammar/bind-args.ts) checks each
 * against config and answers with a did-you-mean when a word is close to a known one.
 * - `product`: a product from config; when `optional` and the word is not a product, the default product is used.
 * - `version`: `^\d+(\.\d+){1,3}$`.
 * - `formats`: one or more formats or aliases, or `all` (every format of the product); canonical names result.
 * - `clouds`: one or more clouds from config.
 * - `job`: a job id (shape only; whether it exists is the handler's business).
 * - `request`: an approval request id (shape only).
 * - `command`: a command name (for `help`).
 * - `events`: one or more lifecycle event names (for subscribe).
 * - `person`: a person id from config.
 * - `text`: the rest of the words, joined by spaces (a reason, a note).
 */
export type ArgKind =
  | 'product'
  | 'version'
  | 'formats'
  | 'clouds'
  | 'job'
  | 'request'
  | 'command'
  | 'events'
  | 'person'
  | 'text';

export interface ArgSpec {
  /** Name shown in usage and errors. */
  name: string;
  /** What the argument is. */
  kind: ArgKind;
  /** May be left out. */
  optional?: boolean;
}

export interface OptionSpec {
  /** Long name: `--reason`, or `reason=…`. */
  name: string;
  /** `boolean` flags take no value; `string` and `integer` take one. */
  type: 'boolean' | 'string' | 'integer';
  /** One line of help. */
  description: string;
  /** For integers: the smallest and largest value accepted. */
  min?: number;
  max?: number;
}

/** A command parsed from a message: which spec, with what arguments. */
export interface ParsedCommand {
  spec: CommandSpec;
  args: BoundArgs;
  /** The command text as it was parsed (after the address prefix). */
  text: string;
}

/** A stage job to queue, as a command asks for it. */
export interface StageRequest {
  stage: Stage;
  product: string;
  version: string;
  format?: string;
  cloud?: string;
  params?: Record<string, string>;
}

/** The job services a command handler may use. */
/** What `JobControl.lookAhead` started reading for some requests of a message (an opaque token). */
export interface SubmitLookAhead {
  readonly requests: readonly StageRequest[];
  readonly message: IncomingMessage;
}

/**
 * A command's own record of its one job, written by the script that queues the job (the audit entry,
 * the release of the event's claim, the status message's reservation): the job, what the trail says
 * of it and the event's end happen together or not at all, in one round trip.
 */
export interface SubmitCommit {
  /** Queues the job `jobId` by running its prepared script, with the steps to run in it. */
  attempt(jobId: string, queueing: PreparedQueueing): Promise<QueueOutcome>;
}

export interface JobControl {
  /**
   * Queues one job per request; idempotent per chat event. Returns the job ids in request order.
   * `ahead`: the reads `lookAhead` started for these requests of this message, used instead of reading
   * again (ignored when it was for other requests or another message).
   */
  submit(
    requests: StageRequest[],
    context: { principal: Principal; message: IncomingMessage; commandText: string },
    ahead?: SubmitLookAhead,
    /** Used when the requests are one job (see SubmitCommit). */
    commit?: SubmitCommit,
  ): Promise<string[]>;
  /**
   * Starts what `submit` reads before it writes (nothing is written): the pipeline starts it while the
   * event is still being admitted, so a command's reads share that round trip.
   */
  lookAhead?(requests: readonly StageRequest[], message: IncomingMessage): SubmitLookAhead;
  /** Checks requests against the lifecycle gates and workers without queueing anything. Throws VmopsError. */
  check(requests: StageRequest[]): Promise<void>;
  /** Current view of a job, or undefined if no such job. */
  get(jobId: string): Promise<JobStatusView | undefined>;
  /** Most recent jobs first. */
  list(limit: number): Promise<JobStatusView[]>;
  /** Last `tail` log lines of a job, or undefined if no such job. */
  logs(jobId: string, tail: number): Promise<string[] | undefined>;
  /** Cancels a queued or running job (kills the running step's process group). Throws VmopsError. */
  cancel(jobId: string, by: Principal): Promise<JobStatusView>;
  /** Queues a failed or cancelled job again under the same id. Throws VmopsError. */
  retry(jobId: string, by: Principal, origin: ChatTarget): Promise<JobStatusView>;
}

/** Read access to the image catalog and test reports, for `images` and `report`. */
export interface CatalogReader {
  /** A version with its images, clouds and revocation (empty images when unknown). */
  version(product: string, version: string): Promise<VersionRecord>;
  /** Versions of a product, newest first. */
  versions(product: string): Promise<string[]>;
  /** The test report a test job left, if any. */
  report(jobId: string): Promise<TestReport | undefined>;
  /** Removes a version from the catalog (`expunge`, admins, after an approval); returns what it held. */
  expunge(product: string, version: string): Promise<VersionRecord>;
  /** Where the version is deployed, per cloud, with the clouds' image ids (as the catalog recorded it). */
  deployments?(product: string, version: string): Promise<CloudDeployment[]>;
}

/** Which lifecycle events each room is told about, for `subscribe` and `unsubscribe`. */
export interface RoomSubscriptions {
  /** Adds events to the room's subscription; returns what the room is subscribed to now. */
  subscribe(target: ChatTarget, events: readonly string[]): Promise<string[]>;
  /** Removes events from the room's subscription; returns what is left. */
  unsubscribe(target: ChatTarget, events: readonly string[]): Promise<string[]>;
  /** What the room is subscribed to (in LIFECYCLE_EVENTS order). */
  list(target: ChatTarget): Promise<string[]>;
}

/** The approval desk as commands see it: answer a request, list the open ones (src/approvals/approval-desk.ts). */
export interface ApprovalAnswers {
  /** `approve`, `deny`, `withdraw`: resolves with the reply for the person who answered; throws VmopsError. */
  answer(input: ApprovalAnswerInput): Promise<CommandOutcome>;
  /** Open requests, soonest to expire first. */
  pending(): Promise<ApprovalView[]>;
}

/** Everything a handler gets. */
export interface CommandContext {
  /** The validated configuration. */
  config: Config;
  /** Who asked. */
  principal: Principal;
  /** The message the command came in. */
  message: IncomingMessage;
  /** The command as parsed: the message text without the address (`@vmops`, `!`). */
  commandText: string;
  /** Job services. */
  jobs: JobControl;
  /** The image catalog and test reports. */
  catalog: CatalogReader;
  /** Workers whose heartbeat is alive. */
  liveWorkers(): Promise<AgentInfo[]>;
  /** Room subscriptions to lifecycle events. */
  subscriptions: RoomSubscriptions;
  /** Every registered command (for help). */
  commands: readonly CommandSpec[];
  /** Whether the asker may run a command (for help, which lists only those). */
  may(spec: CommandSpec): boolean;
  /** Approval requests: answer, list. */
  approvals: ApprovalAnswers;
  /** Who is on call, and the admin override. */
  oncall: Pick<OnCallDesk, 'whoIsOnCall' | 'set' | 'clear' | 'now'>;
  /** The audit trail. */
  audit: Pick<AuditTrail, 'record' | 'recent' | 'verify' | 'entries'>;
  /** One-time sign-in links to the web console (`login`); absent when the bot serves none. */
  logins?: { loginLink(person: string): Promise<{ url: string; expiresAt: number }> };
  /** Logger with person, command and adapter bound. */
  log: Logger;
}

/** What a handler answers: a reply, and the jobs it queued (each gets its own status message). */
export interface CommandOutcome {
  reply?: Reply;
  jobs?: string[];
  /** Jobs the command started whose status messages already went to another room (an approved request's). */
  startedElsewhere?: string[];
}

/**
 * What a command would do, declared without doing anything, for the approval gate: the stage jobs it
 * would queue (checked against the lifecycle gates and workers before anyone is asked), or that it
 * acts by itself when it runs (`oncall set`, `subscribe`, `audit export`, `expunge`): then nothing of it
 * runs before the approval.
 */
export type CommandPlan = { acts: 'queue'; requests: StageRequest[] } | { acts: 'itself' };

export interface CommandSpec {
  /** The word that starts the command. */
  name: string;
  /** Other words for it. */
  aliases?: readonly string[];
  /** One line for the help list. */
  summary: string;
  /** Longer help, shown by `help <command>`. */
  description?: string;
  /** Examples, shown by `help <command>`. */
  examples: readonly string[];
  /** Who may run it by default (config `policy.commands` may override). */
  access: Access;
  /** Positional arguments in order. */
  args: readonly ArgSpec[];
  /** Named options. */
  options?: readonly OptionSpec[];
  /**
   * What running it would do, without running it (the approval gate asks this); pure, may throw a
   * VmopsError for arguments it cannot take. A command without one is taken to act by itself.
   */
  plan?(ctx: Pick<CommandContext, 'config'>, args: BoundArgs): CommandPlan;
  /** Does the work. Throws VmopsError for refusals; returns the reply. */
  run(ctx: CommandContext, args: BoundArgs): Promise<CommandOutcome>;
}
