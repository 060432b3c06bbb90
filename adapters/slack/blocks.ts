// Block Kit for vmops replies. A job's status message becomes a card (what, state, format, step,
// progress, duration, who asked) drawn from Reply.status; a reply with actions gets its buttons; every
// message keeps the complete plain `text`, which Slack shows in notifications and where blocks cannot
// be drawn. Everything that comes from outside (step output, errors, names, echoed commands) is escaped,
// so no text can mention @channel, a user, or make a link.

import { formatDuration } from '../../src/render/duration.ts';
import { progressBar, subject } from '../../src/render/status-message.ts';
import type { JobStatusView, Reply } from '../../src/types.ts';
import { ACTION_PREFIX } from './events.ts';

/** Slack's escaping for message text: &, < and > (which would start a mention or a link). */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Longest text of one section block. */
const SECTION_MAX = 3000;
/** Longest value of a button. */
const VALUE_MAX = 2000;

const STATE_LABEL: Record<JobStatusView['state'], string> = {
  queued: ':hourglass_flowing_sand: queued',
  running: ':arrow_forward: running',
  succeeded: ':white_check_mark: succeeded',
  failed: ':x: failed',
  cancelled: ':no_entry_sign: cancelled',
};

const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

type Block = Record<string, unknown>;

const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });

/** The job card. */
export function statusBlocks(view: JobStatusView, now: number): Block[] {
  const elapsed = formatDuration((view.finishedAt ?? now) - (view.startedAt ?? view.createdAt));
  const fields = [
    mrkdwn(`*State*\n${STATE_LABEL[view.state]}`),
    mrkdwn(`*Job*\n\`${escapeText(view.jobId)}\``),
  ];
  if (view.format) fields.push(mrkdwn(`*Format*\n${escapeText(view.format)}`));
  if (view.cloud) fields.push(mrkdwn(`*Cloud*\n${escapeText(view.cloud)}`));
  if (view.step !== undefined && view.steps !== undefined) {
    const name = view.stepName ? ` ${escapeText(view.stepName)}` : '';
    fields.push(mrkdwn(`*Step*\n${view.step}/${view.steps}${name}`));
  }
  if (view.state === 'running') fields.push(mrkdwn(`*Progress*\n\`${progressBar(view.percent)}\``));
  if (view.state !== 'queued') fields.push(mrkdwn(`*Duration*\n${elapsed}`));
  fields.push(mrkdwn(`*Asked by*\n${escapeText(view.requestedBy)}`));
  const blocks: Block[] = [
    {
      type: 'section',
      text: mrkdwn(`*${escapeText(subject(view))}*`),
      fields: fields.slice(0, 10),
    },
  ];
  const notes: string[] = [];
  if (view.state === 'running' && view.message) notes.push(escapeText(cut(view.message, 300)));
  if ((view.state === 'failed' || view.state === 'cancelled') && view.error) {
    notes.push(`${view.state === 'failed' ? 'Failed' : 'Cancelled'}: ${escapeText(cut(view.error, 1000))}`);
  }
  if (view.tests !== undefined && view.state !== 'running') notes.push(escapeText(cut(view.tests, 1000)));
  if (view.attempts > 1) notes.push(`attempt ${view.attempts}`);
  if (view.state === 'failed') notes.push(`\`log ${escapeText(view.jobId)}\` shows the log`);
  if (notes.length > 0) blocks.push({ type: 'context', elements: notes.slice(0, 10).map(mrkdwn) });
  return blocks;
}

/** Blocks for a reply, or undefined when plain text says it all. */
export function replyBlocks(reply: Reply, now: number): Block[] | undefined {
  if (reply.status) return statusBlocks(reply.status, now);
  const actions = reply.actions ?? [];
  if (actions.length === 0) return undefined;
  return [
    // Plain text: a command a person typed (`*bold*`, backticks) shows as typed.
    { type: 'section', text: { type: 'plain_text', text: cut(reply.text, SECTION_MAX), emoji: false } },
    {
      type: 'actions',
      elements: actions.slice(0, 25).map((action, i) => ({
        type: 'button',
        action_id: `${ACTION_PREFIX}${i}`,
        text: { type: 'plain_text', text: cut(action.label, 75) },
        value: cut(action.command, VALUE_MAX),
        ...(action.style ? { style: action.style } : {}),
      })),
    },
  ];
}
