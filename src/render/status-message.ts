// Renders a job's status message: what, which job, where it stands, how far, how long, who asked.
// The same text serves every network; rich adapters may draw `status` themselves.

import { printable } from '../grammar/echo.ts';
import type { JobStatusView, Reply } from '../types.ts';
import { formatDuration } from './duration.ts';

const ICON = { queued: '⏳', running: '▶️', succeeded: '✅', failed: '❌', cancelled: '🚫' } as const;
const BAR_WIDTH = 10;

export function progressBar(percent: number): string {
  const filled = Math.max(0, Math.min(BAR_WIDTH, Math.round((percent / 100) * BAR_WIDTH)));
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${Math.round(percent)}%`;
}

export function subject(view: JobStatusView): string {
  return [view.stage, view.product, view.version, view.format, view.cloud].filter(Boolean).join(' ');
}

function stepLabel(view: JobStatusView): string | undefined {
  if (view.step === undefined || view.steps === undefined) return undefined;
  return `step ${view.step}/${view.steps}${view.stepName ? ` ${view.stepName}` : ''}`;
}

/** `url`: the job's page on the web console (web.publicUrl), shown last when given. */
export function renderStatus(view: JobStatusView, now: number, url?: string): Reply {
  const parts = [`${ICON[view.state]} ${subject(view)}`, `job ${view.jobId}`];
  const elapsed = formatDuration((view.finishedAt ?? now) - (view.startedAt ?? view.createdAt));
  switch (view.state) {
    case 'queued':
      parts.push('queued');
      break;
    case 'running': {
      const step = stepLabel(view);
      parts.push([step, progressBar(view.percent)].filter(Boolean).join(' '), elapsed);
      if (view.message) parts.push(printable(view.message, 120)); // step output: no escapes reach the room
      break;
    }
    case 'succeeded':
      parts.push(`succeeded in ${elapsed}`);
      break;
    case 'failed':
      parts.push(
        `failed after ${elapsed}: ${view.error ?? 'unknown error'}`,
        `log ${view.jobId} for details`,
      );
      break;
    case 'cancelled':
      parts.push(view.error ?? 'cancelled');
      break;
  }
  if (view.tests !== undefined && view.state !== 'running') parts.push(printable(view.tests, 300));
  if (view.attempts > 1) parts.push(`attempt ${view.attempts}`);
  parts.push(`asked by ${view.requestedBy}`);
  if (url !== undefined) parts.push(url);
  const tone = view.state === 'succeeded' ? 'ok' : view.state === 'failed' ? 'error' : 'progress';
  return { text: parts.join(' · '), tone, status: view };
}
