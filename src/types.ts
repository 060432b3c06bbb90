// The shared vocabulary of vmops: what flows from a chat network through the pipeline to a worker and
// back. Every other module speaks in these types; adapters turn platform events into them.

/** A network name as used in config and account lists: `shell`, `slack`, `matrix`, `xmpp`. */
export type NetworkName = string;

/** Where a message came from or where a reply goes. */
export interface ChatTarget {
  /** The network this room lives on. */
  network: NetworkName;
  /** Platform room id: Slack channel id, Matrix room id, MUC bare JID, `tty` for the terminal. */
  room: string;
  /** Platform thread id when the message was in a thread (Slack thread_ts, Matrix thread root). */
  thread?: string;
  /** True for a one-to-one conversation with the bot (DM, chat with a JID, the terminal). */
  isDirect: boolean;
  /** The platform's own way back to the asker, for the adapter only (a Slack slash command's or click's response_url). */
  replyUrl?: string;
}

/** Who sent a message, as the platform proves it. */
export interface Sender {
  /** Stable account id on the network: Slack user id, Matrix user id, bare JID, shell login. Never a nickname. */
  id: string;
  /** Display name or nickname, for showing only; never used for authorization. */
  displayName: string;
  /** The platform marks this sender as a bot or an app (Slack bot_id, bridged bots…). */
  isBot: boolean;
  /** The message was sent by this bot's own account. */
  isSelf: boolean;
  /**
   * Set when the network hides who really sent it (an XMPP room that shows the bot nicknames only):
   * what would make the room show it. The sender is then a guest whatever its id, and the room is told
   * once why its commands are refused (the pipeline decides; adapters only mark).
   */
  hiddenBecause?: string;
}

/** One chat message, normalised by an adapter. */
export interface IncomingMessage {
  /** Platform event id, unique on its network; redeliveries carry the same id. */
  eventId: string;
  /** The account that sent it. */
  sender: Sender;
  /** Where it was said, which is also where answers go. */
  target: ChatTarget;
  /** The text, with a platform mention of the bot already removed when `mentioned` is true. */
  text: string;
  /** The adapter recognised a platform mention of the bot (Slack `<@U…>`, Matrix pill) or a slash command. */
  mentioned: boolean;
  /** When the platform says it was sent (ms since epoch); for backlog, the original time the network gives. */
  sentAt: number;
  /** Set when the network hands the message as history or a late delivery, not live; the pipeline decides by it and by its age. */
  backlog?: Backlog;
}

/**
 * How the network handed a message that is not live (adapters only mark it; the pipeline decides):
 * `away` was sent while the bot was not listening (a Matrix catch-up sync or back-filled gap, an XMPP
 * `urn:xmpp:delay` delivery): it runs if younger than bot.maxMessageAge, else it is ignored and the
 * room is told once; `history` was said before the bot was in the room (a first sync without a stored
 * position, events before its join): it never runs and nobody is told.
 */
export interface Backlog {
  /** `away` or `history`, as above. */
  kind: 'away' | 'history';
  /** When the network says it was originally sent (ms since epoch; equals `sentAt`). */
  originalAt: number;
}

/** How a reply should look where the network can show the difference. */
export type ReplyTone = 'info' | 'ok' | 'error' | 'progress';

/** What the bot says. `text` is always complete; `status` lets rich adapters draw a job card. */
export interface Reply {
  /** Plain-text form of the reply; the only field simple adapters need. */
  text: string;
  /** Kind of reply. */
  tone: ReplyTone;
  /** Structured job status when the reply is a job's status message. */
  status?: JobStatusView;
  /** Buttons rich adapters may draw under the text (the text must still say how to do it by typing). */
  actions?: readonly ReplyAction[];
}

/** A button: a click is handled exactly as if the clicking account had typed `command` where the button is. */
export interface ReplyAction {
  /** What the button says. */
  label: string;
  /** The command a click stands for, e.g. `approve r-7f3k2a`. */
  command: string;
  /** How the button looks where the network can show it. */
  style?: 'primary' | 'danger';
}

/** A message the bot sent, kept so it can be edited later (possibly by another process). */
export interface MessageRef {
  /** Network of the message. */
  network: NetworkName;
  /** Room of the message. */
  room: string;
  /** Platform message id (Slack ts, Matrix event id, XMPP stanza id, a line number for the terminal). */
  id: string;
  /** Thread the message lives in, if any. */
  thread?: string;
}

/** A platform's rate limit as it documents it: a sustained rate and how many may go at once after a quiet time. */
export interface SendRate {
  /** Requests per second, sustained. */
  perSecond: number;
  /** Requests allowed at once after a quiet time (1: none beyond the rate). */
  burst: number;
}

/** One of a platform's rate limits and what it counts per: one room, the bot's account, the whole workspace. */
export interface SendBudget {
  /** What the platform counts together (Slack posts per channel, updates per workspace; Matrix per account). */
  per: 'room' | 'account' | 'workspace';
  /** The limit. */
  rate: SendRate;
}

/** Per-message options of a send. */
export interface SendOptions {
  /** Stable id of this logical message: every try of it carries the same one, so the platform stores it once (Matrix txnId). */
  txnId?: string;
}

/** What one network's adapter can do and must not exceed; the outbox and the notifier schedule sends by it. */
export interface AdapterLimits {
  /** The network can edit a sent message in place. */
  canEdit: boolean;
  /** Minimum time between two sends or edits of one message (ms); edits in between are merged. */
  minEditIntervalMs: number;
  /** Longest text one message may carry (characters). */
  maxMessageLength: number;
  /** Messages have threads: a job's details (log tail, test report) go in its status message's thread. */
  threads?: boolean;
  /** A reply longer than `maxMessageLength` goes out whole (the adapter attaches it as a file), so it is not cut before. */
  attachesLongText?: boolean;
  /** The platform's rate limit on sending new messages (absent: none the bot must keep to). */
  sendBudget?: SendBudget;
  /** The platform's rate limit on edits (absent: none). The same `per` and rate as `sendBudget` means one shared budget. */
  editBudget?: SendBudget;
}

/** The contract every network implements: receive, send, edit, stop. Adapters hold no policy. */
export interface ChatAdapter {
  /** The network name, as used in config and in people's account lists. */
  readonly network: NetworkName;
  /** What the network allows. */
  readonly limits: AdapterLimits;
  /** Connects and starts delivering messages to `onMessage` (an adapter may wait for the returned promise to keep order). */
  start(onMessage: (message: IncomingMessage) => Promise<void>): Promise<void>;
  /** Disconnects; no message is delivered after it resolves. */
  stop(): Promise<void>;
  /**
   * Sends one new message, once (no queue, no retry: the outbox does both), and returns a reference to it.
   * A failure is thrown as a SendFailure (src/chat/send-failure.ts) saying whether it is retryable and how
   * long the platform asked to wait.
   */
  send(target: ChatTarget, reply: Reply, options?: SendOptions): Promise<MessageRef>;
  /** Replaces the content of a message sent before (or sends a new one where editing is impossible), once; fails as `send`. */
  edit(ref: MessageRef, reply: Reply, options?: SendOptions): Promise<void>;
  /** Where a direct (one-to-one) message to an account of this network goes; `send` to it reaches only that account. */
  directTarget(account: string): ChatTarget;
  /**
   * Resolves once a message to `room` can go out (connected, and in the room where the network needs
   * that); the outbox waits for it before each try, so what is said while the network is away goes out
   * once it is back, in order. Absent: always.
   */
  whenSendable?(room: string): Promise<void>;
  /** Whether the adapter is connected to its network now (/readyz, vmops_up); an adapter without it counts as connected. */
  connected?(): boolean;
  /** Registers a listener the adapter calls each time the network tells it to wait (a 429's retry-after, in ms); for metrics. */
  watchRateLimits?(listener: (waitMs: number) => void): void;
}

/** Roles from config, from least to most power; `admin` may do everything. */
export type Role = 'viewer' | 'operator' | 'approver' | 'admin';

/** Who may run a command: a role, any person listed in config (`known`), or anyone at all. */
export type Access = Role | 'known' | 'anyone';

/** A person from config, or a guest when the account is not listed. */
export interface Principal {
  /** Person id from config (`alice`), or `guest:<network>:<account>` for unknown accounts. */
  id: string;
  /** True when the account is listed in config. */
  known: boolean;
  /** Roles from config; empty for guests. */
  roles: readonly Role[];
  /** The account the message came from. */
  account: { network: NetworkName; id: string };
  /** Display name or nickname of the account, for showing only. */
  displayName: string;
}

/** The stages of an image's life that workers run. */
export type Stage = 'build' | 'test' | 'publish' | 'deploy' | 'update' | 'revoke';
export const STAGES: readonly Stage[] = ['build', 'test', 'publish', 'deploy', 'update', 'revoke'];

/** The data of one queued stage job, as stored in BullMQ. */
export interface JobData {
  /** Short job id shown to people (also the BullMQ job id). */
  jobId: string;
  /** Stage to run. */
  stage: Stage;
  /** Product from config. */
  product: string;
  /** Version string, already validated. */
  version: string;
  /** Canonical format name, for stages that work per format. */
  format?: string;
  /** Cloud name, for deploy. */
  cloud?: string;
  /** Further named parameters (e.g. `reason`), passed to steps as VMOPS_PARAM_<NAME>. */
  params: Record<string, string>;
  /** Person who asked, with the account used. */
  requestedBy: { person: string; network: NetworkName; account: string; displayName: string };
  /** Room the command came from: where the status message lives. */
  origin: ChatTarget;
  /** `network:eventId` of the chat event that created the job (dedupe key). */
  eventKey: string;
  /** The command as typed, for logs and audit. */
  commandText: string;
  /** When the job was queued (ms since epoch). */
  createdAt: number;
  /** Trace id of the chat event that created the job (src/observability/trace.ts), on every log line about it. */
  trace?: string;
}

/** Progress a running job reports; stored as the BullMQ job progress. */
export interface JobProgress {
  /** 1-based number of the running step. */
  step: number;
  /** Number of steps in the stage. */
  steps: number;
  /** Name of the running step. */
  stepName: string;
  /** Percent done of the whole stage, 0 to 100. */
  percent: number;
  /** Last status message the step printed. */
  message?: string;
  /** When the job started running (ms since epoch). */
  startedAt: number;
  /** Worker running it. */
  worker: string;
  /** One-line test summary, once a test stage has read its report. */
  tests?: string;
  /** Attempts of the job that ran a step, this one included once its first step starts. */
  attempt?: number;
}

/** What a finished job returns (BullMQ return value). */
export interface JobResult {
  /** How long the stage ran (ms). */
  durationMs: number;
  /** Steps that ran, in order. */
  steps: { name: string; exitCode: number; durationMs: number }[];
  /** Files the steps announced with `::artifact`. */
  artifacts: string[];
  /** Test reports the steps announced with `::report`. */
  reports: string[];
}

/** How a job stands, as the room sees it. */
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** Everything a status message shows about a job. */
export interface JobStatusView {
  /** Job id. */
  jobId: string;
  /** Stage. */
  stage: Stage;
  /** Product. */
  product: string;
  /** Version. */
  version: string;
  /** Format, where the stage has one. */
  format?: string;
  /** Cloud, for deploy. */
  cloud?: string;
  /** Where it stands. */
  state: JobState;
  /** Running or last step number (1-based), if any ran. */
  step?: number;
  /** Number of steps. */
  steps?: number;
  /** Name of the running or last step. */
  stepName?: string;
  /** Percent done, 0 to 100. */
  percent: number;
  /** Last status line from the step. */
  message?: string;
  /** Display name of who asked. */
  requestedBy: string;
  /** When it was queued (ms since epoch). */
  createdAt: number;
  /** When it started running (ms since epoch). */
  startedAt?: number;
  /** When it ended (ms since epoch). */
  finishedAt?: number;
  /** Why it failed or was cancelled. */
  error?: string;
  /** How many times it has been tried (1 for the first run). */
  attempts: number;
  /** One-line test summary of a test job. */
  tests?: string;
  /** Trace id of the chat event that created the job, for log lines about its status message. */
  trace?: string;
}

/** Arguments after binding: resolved against config, canonical names, ready for the handler. */
export interface BoundArgs {
  /** Product named, or the default product. */
  product: string;
  /** Version, when the command takes one and it was given. */
  version?: string;
  /** Canonical format names (aliases and `all` resolved), in the order given, without duplicates. */
  formats: string[];
  /** Cloud names, in the order given, without duplicates. */
  clouds: string[];
  /** Event names for subscribe/unsubscribe. */
  events: string[];
  /** Single-word arguments by their ArgSpec name (`job`, `request`, `command`, `person`). */
  words: Record<string, string>;
  /** The `text` argument, if any. */
  text?: string;
  /** Options given, by name; integers already converted. */
  options: Record<string, string | boolean | number>;
}
