// The approval sweeper: expires requests nobody answered in time (the room is told, the request's
// messages say so) and sends unanswered ones on to the next person in the escalation order. Several
// bot instances may sweep the same Redis at once: each request expires, and escalates, once.
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { AuditTrail } from '../audit/audit-trail.ts';
import { roomKey } from '../chat/chat-keys.ts';
import type { OnCallDesk } from '../oncall/oncall-desk.ts';
import type { ApprovalNotices } from './approval-notices.ts';
import { nextAsked } from './approval-rules.ts';
import type { ApprovalStore } from './approval-store.ts';
import { askText, escalatedAsk, escalatedText, expiredText } from './approval-texts.ts';
import type { ApprovalRecord, ApprovalRequest } from './approval-types.ts';

export interface ApprovalSweeperOptions {
  config: Config;
  store: ApprovalStore;
  oncall: Pick<OnCallDesk, 'escalationOrder'>;
  audit: Pick<AuditTrail, 'record'>;
  notices: ApprovalNotices;
  log: Logger;
  now: () => number;
  /** How often expiry and escalation are looked at (ms; default 1 s). */
  sweepMs?: number;
}

export class ApprovalSweeper {
  readonly #o: ApprovalSweeperOptions;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;

  constructor(options: ApprovalSweeperOptions) {
    this.#o = options;
  }

  get #policy() {
    return this.#o.config.policy.approvals;
  }

  /** Expires and escalates what is due; safe to run from several instances at once. */
  async sweep(): Promise<void> {
    const { store } = this.#o;
    const now = this.#o.now();
    for (const id of await store.due(now)) {
      const verdict = await store.decide(id, 'expired', undefined, now);
      if (verdict !== 'ok') continue;
      const record = await store.get(id);
      if (record) await this.expired(record.request);
    }
    for (const id of await store.dueForEscalation(now)) {
      if (!(await store.claimEscalation(id))) continue;
      const record = await store.get(id);
      if (record?.state !== 'pending') continue;
      await this.#escalate(record);
    }
  }

  /** A request that this instance marked expired: audited, its messages and its room told. */
  async expired(request: ApprovalRequest): Promise<void> {
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
    const text = expiredText(request, this.#policy.expireAfter);
    await this.#o.notices.closedWith(request.id, text);
    await this.#o.notices.tell(request.message.target, text);
  }

  async #escalate(record: ApprovalRecord): Promise<void> {
    const { request } = record;
    const order = await this.#o.oncall.escalationOrder(request.requester.id);
    const step = nextAsked(order, record.notified);
    if (!step) return;
    const notified = [...record.notified, step.next];
    await this.#o.store.setNotified(request.id, notified);
    if (step.more) {
      await this.#o.store.escalateAgainAt(request.id, this.#o.now() + this.#policy.escalateAfter);
    }
    await this.#o.audit.record(
      {
        kind: 'approval.escalated',
        actor: 'vmops',
        room: roomKey(request.message.target),
        summary: `${request.id} escalated to ${step.next}`,
        detail: { request: request.id, to: step.next, unanswered: record.notified.join(',') },
      },
      this.#o.log,
    );
    const clock = { now: this.#o.now(), timezone: this.#o.config.oncall.timezone };
    await this.#o.notices.ask(
      request.id,
      [step.next],
      askText(request, escalatedAsk(record.notified), clock),
    );
    await this.#o.notices.tell(
      request.message.target,
      escalatedText(request, record.notified, this.#policy.escalateAfter, step.next),
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
