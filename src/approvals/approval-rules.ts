// The approval answer rules as pure functions: which change a request asks for, who is told first,
// who may answer, what an answer moves the request to, whom an unanswered request goes on to. No
// Redis, no chat, no clock: the desk and the sweeper ask these and act on the answer.
import type { Config } from '../../config/schema.ts';
import { hasRole } from '../people/roles.ts';
import type { BoundArgs, Principal } from '../types.ts';
import type { ApprovalAnswerInput, ApprovalRecord, ApprovalState } from './approval-types.ts';

type ApprovalPolicy = Pick<Config['policy']['approvals'], 'approvedBy'>;

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

/** The change a request asks for, whoever asks it: one pending request per change. */
export function changeKey(command: string, args: BoundArgs): string {
  return JSON.stringify([command, argsKey(args)]);
}

/**
 * Whom a new request is sent to first: the first in the escalation order when only the person on call
 * answers or someone is on call, else every approver; and whether (and so when) it escalates.
 */
export function firstAsked(
  order: readonly string[],
  policy: ApprovalPolicy,
  someoneOnCall: boolean,
): { notified: string[]; escalates: boolean } {
  const first = policy.approvedBy === 'oncall' || someoneOnCall ? order.slice(0, 1) : [...order];
  const notified = first.length > 0 ? first : [...order];
  return { notified, escalates: order.length > notified.length };
}

/** The next person an unanswered request goes on to, and whether anyone is left after them. */
export function nextAsked(
  order: readonly string[],
  notified: readonly string[],
): { next: string; more: boolean } | undefined {
  const next = order.find((person) => !notified.includes(person));
  if (next === undefined) return undefined;
  const after = [...notified, next];
  return { next, more: order.some((person) => !after.includes(person)) };
}

/** Why an answer is refused before anything is looked at beyond who asked: the two-person rule. */
export type OwnAnswerRefusal = 'withdraw_not_own' | 'self_approval';

/** The requester may withdraw but never approve; nobody else may withdraw. */
export function ownAnswerRefusal(
  decision: ApprovalAnswerInput['decision'],
  own: boolean,
): OwnAnswerRefusal | undefined {
  if (decision === 'withdraw' && !own) return 'withdraw_not_own';
  if (decision === 'approve' && own) return 'self_approval';
  return undefined;
}

/** Whether `by` answers as the person who asked (known people only: a guest is nobody's requester). */
export function isOwn(by: Principal, record: ApprovalRecord): boolean {
  return by.known && by.id === record.request.requester.id;
}

/** Whether someone other than the requester may answer; why not, when not. */
export function mayAnswer(
  by: Principal,
  record: ApprovalRecord,
  policy: ApprovalPolicy,
  onCallNow: string | undefined,
): string | undefined {
  const onCall = onCallNow === by.id;
  const asked = record.notified.includes(by.id);
  if (policy.approvedBy === 'oncall') {
    if (onCall || asked) return undefined;
    return `only the person on call (${onCallNow ?? 'nobody now'}) or someone the request was sent to (${record.notified.join(', ') || 'nobody'}) may answer ${record.request.id}`;
  }
  if (by.known && (hasRole(by, 'approver') || onCall || asked)) return undefined;
  return `answering ${record.request.id} needs the approver role or being on call (now: ${onCallNow ?? 'nobody'}); you (${by.id}) have ${by.roles.length > 0 ? `the roles ${by.roles.join(', ')}` : 'no roles'}`;
}

/** The state an allowed answer moves a pending request to. */
export function answeredState(
  decision: ApprovalAnswerInput['decision'],
  own: boolean,
): Exclude<ApprovalState, 'pending' | 'expired'> {
  if (decision === 'approve') return 'approved';
  return own ? 'withdrawn' : 'denied';
}
