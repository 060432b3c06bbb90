// What the approval desk says: to the room that asked, to the people asked, to whoever answers, and
// when a request ends (answered, refused, expired, escalated). Texts only; who says them, and when,
// is the desk's and the sweeper's business.
import ms from 'ms';
import type { Config } from '../../config/schema.ts';
import { accountKey, roomKey } from '../chat/chat-keys.ts';
import { showTime } from '../oncall/rota.ts';
import type { Reply, ReplyAction } from '../types.ts';
import type { ApprovalAnswer, ApprovalRecord, ApprovalRequest } from './approval-types.ts';

/** Times as the texts show them: in the on-call timezone, counted from `now`. */
export interface TextClock {
  now: number;
  timezone: string;
}

/** Who answers (`policy.approvals.approvedBy`). */
export type AnsweredBy = Config['policy']['approvals']['approvedBy'];

/** `in 5 minutes (at 14:05 CET)`-like: how long until `at`, and when. */
function when(at: number, clock: TextClock): string {
  return `${ms(Math.max(1000, at - clock.now), { long: true })} (at ${showTime(at, clock.timezone)})`;
}

/** Approve and Deny buttons for rich adapters: a click is the clicking person typing the command. */
export const answerActions = (id: string): ReplyAction[] => [
  { label: 'Approve', command: `approve ${id}`, style: 'primary' },
  { label: 'Deny', command: `deny ${id}`, style: 'danger' },
];

/** The reply to the room that asked: the request waits, for whom, how to answer, when it expires. */
export function waitingReply(
  request: ApprovalRequest,
  notified: readonly string[],
  approvedBy: AnsweredBy,
  clock: TextClock,
): Reply {
  const who =
    notified.length > 0
      ? `It waits for ${notified.join(' or ')}, who ${notified.length > 1 ? 'have' : 'has'} been told directly`
      : 'Nobody is on call and no approver is listed, so nobody was told: an admin can set someone with `oncall set <person>`';
  const rule = approvedBy === 'oncall' ? 'the person on call' : 'an approver or the person on call';
  return {
    tone: 'info',
    actions: answerActions(request.id),
    text: [
      `⏳ ${request.text}: ${request.reason}. Nothing runs until ${rule}, other than you, approves.`,
      `Request ${request.id}. ${who}.`,
      `Answer with \`approve ${request.id}\` or \`deny ${request.id} [reason]\`, from any network. It expires in ${when(request.expiresAt, clock)}.`,
    ].join('\n'),
  };
}

/** The reply to someone who asks for a change that already waits for an approval. */
export function alreadyWaitingReply(waiting: Reply, existingRequester: string, askerId: string): Reply {
  const asker = existingRequester === askerId ? 'you' : existingRequester;
  return { ...waiting, text: `The same request is already waiting (asked by ${asker}):\n${waiting.text}` };
}

/** The direct message to a person asked to answer (`how`: "asks for your approval", …). */
export function askText(request: ApprovalRequest, how: string, clock: TextClock): string {
  return [
    `${request.requester.id} (${accountKey(request.requester)}, in ${roomKey(request.message.target)}) ${how}: ${request.text}`,
    `Why: ${request.reason}.`,
    `Answer with \`approve ${request.id}\` or \`deny ${request.id} [reason]\` from any network; it expires in ${when(request.expiresAt, clock)}.`,
  ].join('\n');
}

/** Why a closed request cannot be answered again. */
export function closedText(record: ApprovalRecord, timezone: string): string {
  const { request, state, answer } = record;
  const what =
    state === 'expired'
      ? `expired at ${showTime(request.expiresAt, timezone)} without an answer`
      : `was already ${state} by ${answer?.person ?? 'someone'}${answer ? ` at ${showTime(answer.at, timezone)}` : ''}`;
  const again = state === 'approved' ? '' : ` To try again, ${request.requester.id} can ask anew.`;
  return `${request.id} (${request.text}) ${what}: it cannot be answered again.${again}`;
}

export const unknownRequestText = (id: string) =>
  `no approval request ${id}: type pending to see the open ones.`;

export const withdrawNotOwnText = (request: ApprovalRequest) =>
  `only ${request.requester.id}, who asked for ${request.id}, can withdraw it; an approver refuses it with \`deny ${request.id} [reason]\`.`;

export const selfApprovalText = (request: ApprovalRequest) =>
  `you asked for ${request.id} yourself (as ${request.requester.id}, from ${accountKey(request.requester)}), so you cannot approve it, from this account or any other: someone else must (two-person rule). You may withdraw it with \`withdraw ${request.id}\`.`;

/** A denial or withdrawal, told to whoever answered, the room that asked and the request's messages. */
export function deniedText(request: ApprovalRequest, answer: ApprovalAnswer, own: boolean): string {
  const how = own ? 'withdrew' : 'denied';
  const because = answer.reason ? `: ${answer.reason}` : '';
  return `🚫 ${answer.person} ${how} ${request.id} (${request.text}, asked by ${request.requester.id})${because}. Nothing was done.`;
}

/** An approval whose command ran, with the jobs it queued. */
export function approvedText(request: ApprovalRequest, by: string, jobs: readonly string[]): string {
  const runs = jobs.length > 0 ? `runs as job ${jobs.join(', ')}` : 'ran';
  return `✅ ${by} approved ${request.id}: ${request.text} (asked by ${request.requester.id}) ${runs}.`;
}

/** An approval whose command could not run. */
export const approvedButRefusedText = (request: ApprovalRequest, by: string, why: string) =>
  `${by} approved ${request.id} (${request.text}), but it could not run: ${why}`;

/** A request that nobody answered in time. */
export function expiredText(request: ApprovalRequest, expireAfter: number): string {
  return `⌛ ${request.id} (${request.text}, asked by ${request.requester.id}) expired after ${ms(expireAfter, { long: true })} without an answer, so it was cancelled: nothing was done. Ask again if it is still needed.`;
}

/** What the people asked before did not answer: `how` for askText of the next one. */
export const escalatedAsk = (notified: readonly string[]) =>
  `asks for an approval that ${notified.join(', ') || 'nobody'} did not answer`;

/** The room is told its request went on to the next person. */
export function escalatedText(
  request: ApprovalRequest,
  notified: readonly string[],
  escalateAfter: number,
  next: string,
): string {
  return `${request.id} (${request.text}) had no answer from ${notified.join(', ') || 'anyone'} within ${ms(escalateAfter, { long: true })}: it was sent on to ${next}.`;
}
