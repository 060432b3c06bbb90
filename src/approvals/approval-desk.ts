// The approval desk: turns a command that needs an approval into a request, tells the room and sends
// it directly to the approvers on every network they have an account on; takes `approve` and `deny`
// from any network, enforcing the two-person rule (never the requester, whatever account they use);
// runs the approved command exactly as it was asked, as the requester. Every step goes to the audit
// trail. The rules are approval-rules.ts (pure), the words approval-texts.ts, expiry and escalation
// approval-sweeper.ts. Several bot instances may run a desk on the same Redis: each request is made
// once per change asked for, and answered, expired and escalated once.
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { AuditTrail } from '../audit/audit-trail.ts';
import { accountKey, roomKey } from '../chat/chat-keys.ts';
import { VmopsError } from '../errors.ts';
import type { CommandOutcome } from '../grammar/command-spec.ts';
import type { OnCallDesk } from '../oncall/oncall-desk.ts';
import { jobBaseId } from '../queue/job-id.ts';
import type { BoundArgs, ChatTarget, IncomingMessage, Principal, Reply } from '../types.ts';
import { type ApprovalNoticeOptions, ApprovalNotices } from './approval-notices.ts';
import {
  answeredState,
  changeKey,
  firstAsked,
  isOwn,
  mayAnswer,
  ownAnswerRefusal,
} from './approval-rules.ts';
import type { ApprovalStore } from './approval-store.ts';
import { ApprovalSweeper } from './approval-sweeper.ts';
import {
  alreadyWaitingReply,
  approvedButRefusedText,
  approvedText,
  askText,
  closedText,
  deniedText,
  selfApprovalText,
  type TextClock,
  unknownRequestText,
  waitingReply,
  withdrawNotOwnText,
} from './approval-texts.ts';
import type {
  ApprovalAnswer,
  ApprovalAnswerInput,
  ApprovalRecord,
  ApprovalRequest,
  ApprovalView,
} from './approval-types.ts';

export { argsKey } from './approval-rules.ts';
export type { ApprovalView } from './approval-types.ts';

export interface ApprovalDeskOptions extends ApprovalNoticeOptions {
  config: Config;
  store: ApprovalStore;
  oncall: OnCallDesk;
  audit: AuditTrail;
  /** Runs an approved request as its requester; throws VmopsError when it cannot run. */
  execute(request: ApprovalRequest): Promise<CommandOutcome>;
  log: Logger;
  now?: () => number;
  /** How often expiry and escalation are looked at (ms; default 1 s). */
  sweepMs?: number;
}

const sameRoom = (a: ChatTarget, b: ChatTarget) => a.network === b.network && a.room === b.room;

export class ApprovalDesk {
  readonly #o: ApprovalDeskOptions;
  readonly #now: () => number;
  readonly #notices: ApprovalNotices;
  readonly #sweeper: ApprovalSweeper;

  constructor(options: ApprovalDeskOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#notices = new ApprovalNotices(options);
    this.#sweeper = new ApprovalSweeper({
      config: options.config,
      store: options.store,
      oncall: options.oncall,
      audit: options.audit,
      notices: this.#notices,
      log: options.log,
      now: this.#now,
      ...(options.sweepMs === undefined ? {} : { sweepMs: options.sweepMs }),
    });
  }

  get #policy() {
    return this.#o.config.policy.approvals;
  }

  get #clock(): TextClock {
    return { now: this.#now(), timezone: this.#o.config.oncall.timezone };
  }

  #waiting(request: ApprovalRequest, notified: readonly string[]): Reply {
    return waitingReply(request, notified, this.#policy.approvedBy, this.#clock);
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
    const order = await this.#o.oncall.escalationOrder(input.requester.id);
    const { current } = await this.#o.oncall.whoIsOnCall();
    const { notified, escalates } = firstAsked(order, this.#policy, current !== undefined);
    const escalateAt = escalates ? now + this.#policy.escalateAfter : undefined;
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
      // The same command with the same arguments already waiting (a second `revoke 2.5`, from anyone,
      // on any instance, at the same moment): that request is the answer, so approvers see one request
      // per change, not a pile of them.
      const made = await this.#o.store.create(candidate, {
        escalateAt,
        notified,
        eventKey,
        change: changeKey(input.command, input.args),
      });
      if (typeof made === 'object') {
        const existing = await this.#o.store.get(made.existing);
        if (!existing) continue; // gone meanwhile (answered and aged out): ask again
        return alreadyWaitingReply(
          this.#waiting(existing.request, existing.notified),
          existing.request.requester.id,
          input.requester.id,
        );
      }
      if (made === 'same') {
        const existing = await this.#o.store.get(candidate.id);
        return this.#waiting(existing?.request ?? candidate, existing?.notified ?? notified);
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
    await this.#notices.ask(request.id, notified, askText(request, 'asks for your approval', this.#clock));
    return this.#waiting(request, notified);
  }

  #closed(record: ApprovalRecord): VmopsError {
    return new VmopsError('request_closed', closedText(record, this.#o.config.oncall.timezone));
  }

  /** `approve <id>` and `deny <id> [reason]`: resolves with the reply for the person who answered. */
  async answer(input: ApprovalAnswerInput): Promise<CommandOutcome> {
    const { id, by, where, decision } = input;
    const record = await this.#o.store.get(id);
    if (!record) throw new VmopsError('unknown_request', unknownRequestText(id));
    const { request } = record;
    if (record.state !== 'pending') throw this.#closed(record);
    const own = isOwn(by, record);
    const refusal = ownAnswerRefusal(decision, own);
    if (refusal === 'withdraw_not_own') throw new VmopsError('forbidden', withdrawNotOwnText(request));
    if (refusal === 'self_approval') {
      await this.#auditRefusal(by, where, request, 'self_approval');
      throw new VmopsError('self_approval', selfApprovalText(request));
    }
    if (!own) {
      const { current } = await this.#o.oncall.whoIsOnCall();
      const why = mayAnswer(by, record, this.#policy, current?.person);
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
    const verdict = await this.#o.store.decide(id, answeredState(decision, own), answer, answer.at);
    if (verdict === 'expired-now') {
      await this.#sweeper.expired(request);
      throw this.#closed({ ...record, state: 'expired' });
    }
    if (verdict !== 'ok') {
      const now = await this.#o.store.get(id);
      throw now ? this.#closed(now) : new VmopsError('unknown_request', `no approval request ${id}.`);
    }
    if (decision !== 'approve') return this.#denied(request, answer, where, own);
    return this.#approved(request, answer, where);
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
    where: ChatTarget,
    own: boolean,
  ): Promise<CommandOutcome> {
    await this.#o.audit.record(
      {
        kind: own ? 'approval.withdrawn' : 'approval.denied',
        actor: answer.person,
        account: answer.account,
        room: answer.room,
        summary: `${answer.person} ${own ? 'withdrew' : 'denied'} ${request.id}: ${request.text}`,
        detail: { request: request.id, reason: answer.reason ?? null },
      },
      this.#o.log,
    );
    const text = deniedText(request, answer, own);
    await this.#notices.closedWith(request.id, text);
    if (!sameRoom(where, request.message.target)) await this.#notices.tell(request.message.target, text);
    return { reply: { tone: 'info', text } };
  }

  async #approved(
    request: ApprovalRequest,
    answer: ApprovalAnswer,
    where: ChatTarget,
  ): Promise<CommandOutcome> {
    await this.#o.audit.record(
      {
        kind: 'approval.approved',
        actor: answer.person,
        account: answer.account,
        room: answer.room,
        summary: `${answer.person} approved ${request.id}: ${request.text}`,
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
      const text = approvedButRefusedText(request, answer.person, message);
      await this.#notices.closedWith(request.id, text);
      if (!sameRoom(where, request.message.target)) await this.#notices.tell(request.message.target, text);
      this.#o.log.info({ err: error, request: request.id }, 'approved command refused');
      return { reply: { tone: 'error', text } };
    }
    const jobs = outcome.jobs ?? [];
    await this.#o.store.setOutcome(request.id, { jobs });
    const text = approvedText(request, answer.person, jobs);
    await this.#notices.closedWith(request.id, text);
    // The jobs' status messages go to the room that asked; say so there too when the answer came from elsewhere.
    if (!sameRoom(where, request.message.target)) await this.#notices.tell(request.message.target, text);
    const extra = outcome.reply ? `\n${outcome.reply.text}` : '';
    return { reply: { tone: 'ok', text: `${text}${extra}` }, startedElsewhere: jobs };
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
  sweep(): Promise<void> {
    return this.#sweeper.sweep();
  }

  start(): void {
    this.#sweeper.start();
  }

  stop(): Promise<void> {
    return this.#sweeper.stop();
  }
}
