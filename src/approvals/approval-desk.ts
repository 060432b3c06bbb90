// The approval desk: turns a command that needs an approval into a request, tells the room and sends
// it directly to the approvers on every network they have an account on; takes `approve` and `deny`
// from any network, enforcing the two-person rule (never the requester, whatever account they use);
// runs the approved command exactly as it was asked, as the requester; expires and escalates requests
// that nobody answers. Every step goes to the audit trail. Several bot instances may run a desk on
// the same Redis: each request is answered, expired and escalated once.
import ms from 'ms';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { AuditTrail } from '../audit/audit-trail.ts';
import { accountKey, roomKey } from '../chat-keys.ts';
import type { BoundArgs, CommandOutcome } from '../command-spec.ts';
import { VmopsError } from '../errors.ts';
import { jobBaseId } from '../jobs/job-id.ts';
import type { OnCallDesk } from '../oncall/oncall-desk.ts';
import { showTime } from '../oncall/rota.ts';
import { hasRole } from '../pipeline/authorize.ts';
import type { ChatTarget, IncomingMessage, Principal, Reply, ReplyAction } from '../types.ts';
import type { ApprovalAnswer, ApprovalRecord, ApprovalRequest, ApprovalStore } from './approval-store.ts';

export interface ApprovalDeskOptions {
  config: Config;
  store: ApprovalStore;
  oncall: OnCallDesk;
  audit: AuditTrail;
  /** Sends a message (room or direct). */
  send(target: ChatTarget, reply: Reply): Promise<unknown>;
  /** Direct-message targets of a person: one per network they have an account on that the bot is on. */
  directTargets(person: string): ChatTarget[];
  /** A request was answered, withdrawn or has expired: its messages with buttons now say `text` instead. */
  closed?(requestId: string, text: string): Promise<void>;
  /** Runs an approved request as its requester; throws VmopsError when it cannot run. */
  execute(request: ApprovalRequest): Promise<CommandOutcome>;
  log: Logger;
  now?: () => number;
  /** How often expiry and escalation are looked at (ms; default 1 s). */
  sweepMs?: number;
}

/** A request to show: `pending` and the console. */
export interface ApprovalView {
  id: string;
  command: string;
  text: string;
  requester: string;
  room: string;
  createdAt: number;
  expiresAt: number;
  notified: string[];
  state: ApprovalRecord['state'];
}

const sameRoom = (a: ChatTarget, b: ChatTarget) => a.network === b.network && a.room === b.room;

/** Approve and Deny buttons for rich adapters: a click is the clicking person typing the command. */
const answerActions = (id: string): ReplyAction[] => [
  { label: 'Approve', command: `approve ${id}`, style: 'primary' },
  { label: 'Deny', command: `deny ${id}`, style: 'danger' },
];

/** The arguments as one comparable string (for the exact-arguments check). */
export function argsKey(args: BoundArgs): string {
  return JSON.stringify([
    args.product,
    args.version ?? null,
    args.formats,
    args.clouds,
    args.events,
    Object.entries(args.words).sort(),
    args.text ?? null,
    Object.entries(args.options).sort(),
  ]);
}

export class ApprovalDesk {
  readonly #o: ApprovalDeskOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;

  constructor(options: ApprovalDeskOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  get #policy() {
    return this.#o.config.policy.approvals;
  }

  #when(at: number): string {
    return `${ms(Math.max(1000, at - this.#now()), { long: true })} (at ${showTime(at, this.#o.config.oncall.timezone)})`;
  }

  /** Makes a request for a command that needs an approval; resolves with the reply for the room. */
  async request(input: {
    command: string;
    text: string;
    args: BoundArgs;
    reason: string;
    requester: Principal;
    message: IncomingMessage;
  }): Promise<Reply> {
    const now = this.#now();
    const eventKey = `${input.message.target.network}:${input.message.eventId}`;
    // The same command with the same arguments already waiting (a second `revoke 2.5`, from anyone):
    // that request is the answer, so approvers see one request per change, not a pile of them.
    const identical = await this.#pendingLike(input.command, input.args, eventKey);
    if (identical) {
      const reply = this.#waitingReply(identical.request, identical.notified);
      const asker =
        identical.request.requester.id === input.requester.id ? 'you' : identical.request.requester.id;
      return { ...reply, text: `The same request is already waiting (asked by ${asker}):\n${reply.text}` };
    }
    const order = await this.#o.oncall.escalationOrder(input.requester.id);
    const { current } = await this.#o.oncall.whoIsOnCall();
    const first = this.#policy.approvedBy === 'oncall' || current ? order.slice(0, 1) : order;
    const notified = first.length > 0 ? first : order;
    const escalateAt = order.length > notified.length ? now + this.#policy.escalateAfter : undefined;
    let request: ApprovalRequest | undefined;
    for (let length = 6; length <= 12 && !request; length += 2) {
      const candidate: ApprovalRequest = {
        id: `r-${jobBaseId(`approval:${eventKey}`, length)}`,
        command: input.command,
        text: input.text,
        args: input.args,
        reason: input.reason,
        requester: input.requester,
        message: input.message,
        createdAt: now,
        expiresAt: now + this.#policy.expireAfter,
      };
      const made = await this.#o.store.create(candidate, { escalateAt, notified, eventKey });
      if (made === 'same') {
        const existing = await this.#o.store.get(candidate.id);
        return this.#waitingReply(existing?.request ?? candidate, existing?.notified ?? notified);
      }
      if (made === 'new') request = candidate;
    }
    if (!request) throw new VmopsError('internal_error', 'could not find a free approval request id');
    await this.#o.audit.record(
      {
        kind: 'approval.requested',
        actor: input.requester.id,
        account: accountKey(input.requester),
        room: roomKey(input.message.target),
        summary: `${input.requester.id} asked for ${request.id}: ${input.text}`,
        detail: { request: request.id, command: input.text, reason: input.reason, asked: notified.join(',') },
      },
      this.#o.log,
    );
    await this.#notify(request, notified, 'asks for your approval');
    return this.#waitingReply(request, notified);
  }

  /** An open request for the same command and arguments made by another chat event, if any. */
  async #pendingLike(
    command: string,
    args: BoundArgs,
    eventKey: string,
  ): Promise<ApprovalRecord | undefined> {
    const key = argsKey(args);
    for (const id of await this.#o.store.open()) {
      const record = await this.#o.store.get(id);
      if (record?.state !== 'pending' || record.request.command !== command) continue;
      const { message } = record.request;
      if (`${message.target.network}:${message.eventId}` === eventKey) continue; // a redelivery: answered below
      if (argsKey(record.request.args) === key) return record;
    }
    return undefined;
  }

  #waitingReply(request: ApprovalRequest, notified: string[]): Reply {
    const who =
      notified.length > 0
        ? `It waits for ${notified.join(' or ')}, who ${notified.length > 1 ? 'have' : 'has'} been told directly`
        : 'Nobody is on call and no approver is listed, so nobody was told: an admin can set someone with `oncall set <person>`';
    const rule =
      this.#policy.approvedBy === 'oncall' ? 'the person on call' : 'an approver or the person on call';
    return {
      tone: 'info',
      actions: answerActions(request.id),
      text: [
        `⏳ ${request.text}: ${request.reason}. Nothing runs until ${rule}, other than you, approves.`,
        `Request ${request.id}. ${who}.`,
        `Answer with \`approve ${request.id}\` or \`deny ${request.id} [reason]\`, from any network. It expires in ${this.#when(request.expiresAt)}.`,
      ].join('\n'),
    };
  }

  async #notify(request: ApprovalRequest, people: string[], how: string): Promise<void> {
    const text = [
      `${request.requester.id} (${accountKey(request.requester)}, in ${roomKey(request.message.target)}) ${how}: ${request.text}`,
      `Why: ${request.reason}.`,
      `Answer with \`approve ${request.id}\` or \`deny ${request.id} [reason]\` from any network; it expires in ${this.#when(request.expiresAt)}.`,
    ].join('\n');
    for (const person of people) {
      for (const target of this.#o.directTargets(person)) {
        await this.#o
          .send(target, { tone: 'info', text, actions: answerActions(request.id) })
          .catch((error: unknown) =>
            this.#o.log.warn(
              { err: error, person, network: target.network },
              'could not send an approval request',
            ),
          );
      }
    }
  }

  /** Whether `by` may answer the request (besides the two-person rule); why not, when not. */
  async #mayAnswer(by: Principal, record: ApprovalRecord): Promise<string | undefined> {
    const { current } = await this.#o.oncall.whoIsOnCall();
    const onCall = current?.person === by.id;
    const asked = record.notified.includes(by.id);
    if (this.#policy.approvedBy === 'oncall') {
      if (onCall || asked) return undefined;
      return `only the person on call (${current?.person ?? 'nobody now'}) or someone the request was sent to (${record.notified.join(', ') || 'nobody'}) may answer ${record.request.id}`;
    }
    if (by.known && (hasRole(by, 'approver') || onCall || asked)) return undefined;
    return `answering ${record.request.id} needs the approver role or being on call (now: ${current?.person ?? 'nobody'}); you (${by.id}) have ${by.roles.length > 0 ? `the roles ${by.roles.join(', ')}` : 'no roles'}`;
  }

  #closed(record: ApprovalRecord): VmopsError {
    const { request, state, answer } = record;
    const what =
      state === 'expired'
        ? `expired at ${showTime(request.expiresAt, this.#o.config.oncall.timezone)} without an answer`
        : `was already ${state} by ${answer?.person ?? 'someone'}${answer ? ` at ${showTime(answer.at, this.#o.config.oncall.timezone)}` : ''}`;
    const again = state === 'approved' ? '' : ` To try again, ${request.requester.id} can ask anew.`;
    return new VmopsError(
      'request_closed',
      `${request.id} (${request.text}) ${what}: it cannot be answered again.${again}`,
    );
  }

  /** `approve <id>` and `deny <id> [reason]`: resolves with the reply for the person who answered. */
  async answer(input: {
    id: string;
    by: Principal;
    where: ChatTarget;
    /** `withdraw` is the requester's own `deny`. */
    decision: 'approve' | 'deny' | 'withdraw';
    reason?: string;
  }): Promise<CommandOutcome> {
    const { id, by, where, decision } = input;
    const record = await this.#o.store.get(id);
    if (!record) {
      throw new VmopsError(
        'unknown_request',
        `no approval request ${id}: type pending to see the open ones.`,
      );
    }
    const { request } = record;
    if (record.state !== 'pending') throw this.#closed(record);
    const own = by.known && by.id === request.requester.id;
    if (decision === 'withdraw' && !own) {
      throw new VmopsError(
        'forbidden',
        `only ${request.requester.id}, who asked for ${id}, can withdraw it; an approver refuses it with \`deny ${id} [reason]\`.`,
      );
    }
    if (decision === 'approve' && own) {
      await this.#auditRefusal(by, where, request, 'self_approval');
      throw new VmopsError(
        'self_approval',
        `you asked for ${id} yourself (as ${request.requester.id}, from ${accountKey(request.requester)}), so you cannot approve it, from this account or any other: someone else must (two-person rule). You may withdraw it with \`withdraw ${id}\`.`,
      );
    }
    if (!own) {
      const why = await this.#mayAnswer(by, record);
      if (why) {
        await this.#auditRefusal(by, where, request, 'not_approver');
        throw new VmopsError('not_approver', `${why}: nothing was done.`);
      }
    }
    const answer: ApprovalAnswer = {
      person: by.id,
      account: accountKey(by),
      room: roomKey(where),
      at: this.#now(),
      ...(input.reason ? { reason: input.reason } : {}),
    };
    const verdict = await this.#o.store.decide(
      id,
      decision === 'approve' ? 'approved' : own ? 'withdrawn' : 'denied',
      answer,
      answer.at,
    );
    if (verdict === 'expired-now') {
      await this.#expired(request);
      throw this.#closed({ ...record, state: 'expired' });
    }
    if (verdict !== 'ok') {
      const now = await this.#o.store.get(id);
      throw now ? this.#closed(now) : new VmopsError('unknown_request', `no approval request ${id}.`);
    }
    if (decision !== 'approve') return this.#denied(request, answer, by, where, own);
    return this.#approved(request, answer, by, where);
  }

  async #auditRefusal(by: Principal, where: ChatTarget, request: ApprovalRequest, code: string) {
    await this.#o.audit.record(
      {
        kind: 'approval.refused',
        actor: by.id,
        account: accountKey(by),
        room: roomKey(where),
        summary: `${by.id} may not answer ${request.id} (${code})`,
        detail: { request: request.id, code },
      },
      this.#o.log,
    );
  }

  async #denied(
    request: ApprovalRequest,
    answer: ApprovalAnswer,
    by: Principal,
    where: ChatTarget,
    own: boolean,
  ): Promise<CommandOutcome> {
    const how = own ? 'withdrew' : 'denied';
    await this.#o.audit.record(
      {
        kind: own ? 'approval.withdrawn' : 'approval.denied',
        actor: by.id,
        account: answer.account,
        room: answer.room,
        summary: `${by.id} ${how} ${request.id}: ${request.text}`,
        detail: { request: request.id, reason: answer.reason ?? null },
      },
      this.#o.log,
    );
    const because = answer.reason ? `: ${answer.reason}` : '';
    const text = `🚫 ${by.id} ${how} ${request.id} (${request.text}, asked by ${request.requester.id})${because}. Nothing was done.`;
    await this.#closedWith(request.id, text);
    if (!sameRoom(where, request.message.target)) await this.#tell(request.message.target, text);
    return { reply: { tone: 'info', text } };
  }

  async #approved(
    request: ApprovalRequest,
    answer: ApprovalAnswer,
    by: Principal,
    where: ChatTarget,
  ): Promise<CommandOutcome> {
    await this.#o.audit.record(
      {
        kind: 'approval.approved',
        actor: by.id,
        account: answer.account,
        room: answer.room,
        summary: `${by.id} approved ${request.id}: ${request.text}`,
        detail: { request: request.id, requester: request.requester.id },
      },
      this.#o.log,
    );
    let outcome: CommandOutcome;
    try {
      outcome = await this.#o.execute(request);
    } catch (error) {
      const message = error instanceof VmopsError ? error.message : 'it failed inside vmops (internal_error)';
      await this.#o.store.setOutcome(request.id, { jobs: [], error: message });
      const text = `${by.id} approved ${request.id} (${request.text}), but it could not run: ${message}`;
      await this.#closedWith(request.id, text);
      if (!sameRoom(where, request.message.target)) await this.#tell(request.message.target, text);
      this.#o.log.info({ err: error, request: request.id }, 'approved command refused');
      return { reply: { tone: 'error', text } };
    }
    const jobs = outcome.jobs ?? [];
    await this.#o.store.setOutcome(request.id, { jobs });
    const runs = jobs.length > 0 ? `runs as job ${jobs.join(', ')}` : 'ran';
    const text = `✅ ${by.id} approved ${request.id}: ${request.text} (asked by ${request.requester.id}) ${runs}.`;
    await this.#closedWith(request.id, text);
    // The jobs' status messages go to the room that asked; say so there too when the answer came from elsewhere.
    if (!sameRoom(where, request.message.target)) await this.#tell(request.message.target, text);
    const extra = outcome.reply ? `\n${outcome.reply.text}` : '';
    return { reply: { tone: 'ok', text: `${text}${extra}` }, startedElsewhere: jobs };
  }

  /** The request's messages with buttons say how it ended (a failure is logged: the answer stands). */
  async #closedWith(requestId: string, text: string): Promise<void> {
    await this.#o
      .closed?.(requestId, text)
      .catch((error: unknown) =>
        this.#o.log.warn({ err: error, request: requestId }, 'could not update the request’s messages'),
      );
  }

  async #tell(target: ChatTarget, text: string): Promise<void> {
    await this.#o
      .send(target, { tone: 'info', text })
      .catch((error: unknown) =>
        this.#o.log.warn({ err: error, room: roomKey(target) }, 'could not tell the room'),
      );
  }

  async #expired(request: ApprovalRequest): Promise<void> {
    await this.#o.audit.record(
      {
        kind: 'approval.expired',
        actor: 'vmops',
        room: roomKey(request.message.target),
        summary: `${request.id} expired unanswered: ${request.text}`,
        detail: { request: request.id, requester: request.requester.id },
      },
      this.#o.log,
    );
    const text = `⌛ ${request.id} (${request.text}, asked by ${request.requester.id}) expired after ${ms(this.#policy.expireAfter, { long: true })} without an answer, so it was cancelled: nothing was done. Ask again if it is still needed.`;
    await this.#closedWith(request.id, text);
    await this.#tell(request.message.target, text);
  }

  /** Open requests, soonest to expire first. */
  async pending(): Promise<ApprovalView[]> {
    const records = await Promise.all((await this.#o.store.open()).map((id) => this.#o.store.get(id)));
    return records
      .filter((r): r is ApprovalRecord => r !== undefined && r.state === 'pending')
      .map((r) => ({
        id: r.request.id,
        command: r.request.command,
        text: r.request.text,
        requester: r.request.requester.id,
        room: roomKey(r.request.message.target),
        createdAt: r.request.createdAt,
        expiresAt: r.request.expiresAt,
        notified: r.notified,
        state: r.state,
      }));
  }

  /** Expires and escalates what is due; safe to run from several instances at once. */
  async sweep(): Promise<void> {
    const now = this.#now();
    for (const id of await this.#o.store.due(now)) {
      const verdict = await this.#o.store.decide(id, 'expired', undefined, now);
      if (verdict !== 'ok') continue;
      const record = await this.#o.store.get(id);
      if (record) await this.#expired(record.request);
    }
    for (const id of await this.#o.store.dueForEscalation(now)) {
      if (!(await this.#o.store.claimEscalation(id))) continue;
      const record = await this.#o.store.get(id);
      if (record?.state !== 'pending') continue;
      await this.#escalate(record);
    }
  }

  async #escalate(record: ApprovalRecord): Promise<void> {
    const { request } = record;
    const order = await this.#o.oncall.escalationOrder(request.requester.id);
    const next = order.find((person) => !record.notified.includes(person));
    if (next === undefined) return;
    const notified = [...record.notified, next];
    await this.#o.store.setNotified(request.id, notified);
    if (order.some((person) => !notified.includes(person))) {
      await this.#o.store.escalateAgainAt(request.id, this.#now() + this.#policy.escalateAfter);
    }
    await this.#o.audit.record(
      {
        kind: 'approval.escalated',
        actor: 'vmops',
        room: roomKey(request.message.target),
        summary: `${request.id} escalated to ${next}`,
        detail: { request: request.id, to: next, unanswered: record.notified.join(',') },
      },
      this.#o.log,
    );
    await this.#notify(
      request,
      [next],
      `asks for an approval that ${record.notified.join(', ') || 'nobody'} did not answer`,
    );
    await this.#tell(
      request.message.target,
      `${request.id} (${request.text}) had no answer from ${record.notified.join(', ') || 'anyone'} within ${ms(this.#policy.escalateAfter, { long: true })}: it was sent on to ${next}.`,
    );
  }

  start(): void {
    const every = this.#o.sweepMs ?? 1000;
    this.#timer = setInterval(() => {
      if (this.#sweeping) return;
      this.#sweeping = this.sweep()
        .catch((error: unknown) => this.#o.log.warn({ err: error }, 'approval sweep failed; trying again'))
        .finally(() => {
          this.#sweeping = undefined;
        });
    }, every);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping;
  }
}
