// Plain-text job views for replies: one line per job (`jobs`, `status`) and the fuller view of one job.
import { printable } from '../grammar/echo.ts';
import type { JobStatusView } from '../types.ts';
import { formatDuration } from './duration.ts';
import { subject } from './status-message.ts';

/** `k3x9q2ab  build cernvm 2.6 kvm  running, step 2/3  by Alice`. */
export function jobLine(view: JobStatusView): string {
  const step = view.step !== undefined && view.steps !== undefined ? `, step ${view.step}/${view.steps}` : '';
  return `${view.jobId}  ${subject(view)}  ${view.state}${step}  by ${printable(view.requestedBy)}`;
}

/** How long the job has waited, run, or ran; a job that ended without starting (cancelled while queued) only waited. */
function timing(view: JobStatusView, now: number): string {
  const started = view.startedAt ?? view.createdAt;
  const ended = view.finishedAt ?? now;
  switch (view.state) {
    case 'queued':
      return `waiting for ${formatDuration(now - view.createdAt)}`;
    case 'running':
      return `running for ${formatDuration(now - started)}, ${Math.round(view.percent)}% done`;
    default:
      return view.startedAt === undefined
        ? `waited ${formatDuration(ended - view.createdAt)} in the queue`
        : `ran for ${formatDuration(ended - view.startedAt)}`;
  }
}

/** Several lines about one job: the job line, timing, current step, last message, error, attempts. */
export function jobDetail(view: JobStatusView, now: number = Date.now()): string {
  const facts = [timing(view, now)];
  if (view.stepName) facts.push(`step: ${printable(view.stepName)}`);
  if (view.attempts > 1) facts.push(`attempt ${view.attempts}`);
  const lines = [jobLine(view), facts.join(' · ')];
  if (view.message) lines.push(`last message: ${printable(view.message, 200)}`);
  if (view.error) lines.push(`error: ${printable(view.error, 300)}`);
  if (view.tests) lines.push(`${printable(view.tests, 300)} · report ${view.jobId} for the whole report`);
  if (view.state === 'failed') lines.push(`type log ${view.jobId} for its log`);
  return lines.join('\n');
}

/** `jobs` and `status` without a job: one line each, newest first. */
export function jobList(views: readonly JobStatusView[]): string {
  if (views.length === 0) return 'No jobs yet: start one with build <version> <format>, e.g. build 2.6 kvm.';
  return [`Recent jobs, newest first (status <job> for details):`, ...views.map(jobLine)].join('\n');
}
