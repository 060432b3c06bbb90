// Job pages: the recent jobs, one job with its steps, log and controls, and a test job's report. The
// row, card and log are also what the live updates send, so a page and its updates look the same.
import { formatDuration } from '../../render/duration.ts';
import { subject } from '../../render/status-message.ts';
import type { TestReport } from '../../reports/test-report.ts';
import type { JobStatusView } from '../../types.ts';
import { csrfInput } from '../csrf.ts';
import { type Html, html } from '../html.ts';

const LABEL: Record<JobStatusView['state'], string> = {
  queued: 'queued',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
};

export function stateBadge(state: string): Html {
  return html`<span class="badge state-${state}">${LABEL[state as JobStatusView['state']] ?? state}</span>`;
}

function elapsed(view: JobStatusView, now: number): string {
  const from = view.startedAt ?? view.createdAt;
  const to = view.finishedAt ?? now;
  if (view.state === 'queued') return `waiting ${formatDuration(now - view.createdAt)}`;
  if (view.startedAt === undefined) return `waited ${formatDuration(to - view.createdAt)}`;
  return view.state === 'running'
    ? `running ${formatDuration(to - from)}`
    : `took ${formatDuration(to - from)}`;
}

function progress(view: JobStatusView): Html {
  const percent = Math.round(view.percent);
  const step =
    view.step !== undefined && view.steps !== undefined
      ? `step ${view.step}/${view.steps}${view.stepName ? ` ${view.stepName}` : ''} · `
      : '';
  return html`<div class="progress"><progress max="100" value="${percent}">${percent}%</progress><span>${step}${percent}%</span></div>`;
}

/** One job in the list (`#job-<id>`). */
export function jobRow(view: JobStatusView, now: number): Html {
  return html`<li class="job" id="job-${view.jobId}" data-state="${view.state}">
  <a class="job-link" href="/jobs/${view.jobId}">
    <div class="line">${stateBadge(view.state)} <strong>${subject(view)}</strong></div>
    <div class="meta"><code>${view.jobId}</code> · ${elapsed(view, now)} · by ${view.requestedBy}</div>
    ${view.state === 'running' ? progress(view) : ''}
    ${view.tests ? html`<div class="meta">${view.tests}</div>` : ''}
  </a>
</li>`;
}

export function jobsBody(views: readonly JobStatusView[], now: number): Html {
  return html`<p class="hint">Newest first; this list follows the jobs live.</p>
<ul class="jobs" id="jobs-list">${views.map((view) => jobRow(view, now))}</ul>
${views.length === 0 ? html`<p class="empty" id="jobs-empty">No jobs yet. Start one from chat, e.g. <code>build 2.6 kvm</code>.</p>` : ''}`;
}

export interface JobControls {
  csrf: string;
  cancel: boolean;
  retry: boolean;
  report: boolean;
}

/** Each configured step of the job's stage, with where the job stands on it. */
function steps(view: JobStatusView, names: readonly string[]): Html {
  if (names.length === 0) return html``;
  const at = view.step ?? 0;
  const items = names.map((name, i) => {
    const n = i + 1;
    let state = 'pending';
    if (view.state === 'succeeded') state = 'done';
    else if (n < at) state = 'done';
    else if (n === at)
      state = view.state === 'running' ? 'running' : view.state === 'queued' ? 'pending' : view.state;
    return html`<li class="step step-${state}"><span class="dot"></span>${n}. ${name} <small>${state}</small></li>`;
  });
  return html`<ol class="steps">${items}</ol>`;
}

/** The job's card on its page (`#job-card`). */
export function jobCard(
  view: JobStatusView,
  stepNames: readonly string[],
  controls: JobControls,
  now: number,
): Html {
  const final = view.state === 'succeeded' || view.state === 'failed' || view.state === 'cancelled';
  const actions: Html[] = [];
  if (controls.cancel && !final) {
    actions.push(
      html`<form method="post" action="/jobs/${view.jobId}/cancel">${csrfInput(controls.csrf)}<button type="submit" class="danger">Cancel</button></form>`,
    );
  }
  if (controls.retry && (view.state === 'failed' || view.state === 'cancelled')) {
    actions.push(
      html`<form method="post" action="/jobs/${view.jobId}/retry">${csrfInput(controls.csrf)}<button type="submit">Retry</button></form>`,
    );
  }
  return html`<section class="card" id="job-card" data-state="${view.state}">
  <div class="line">${stateBadge(view.state)} <strong>${subject(view)}</strong></div>
  <div class="meta"><code>${view.jobId}</code> · ${elapsed(view, now)} · asked by ${view.requestedBy}${view.attempts > 1 ? ` · attempt ${view.attempts}` : ''}</div>
  ${final ? '' : progress(view)}
  ${view.message ? html`<p class="message">${view.message}</p>` : ''}
  ${view.error ? html`<p class="error">${view.error}</p>` : ''}
  ${view.tests ? html`<p class="tests">${view.tests}${controls.report ? html` · <a href="/jobs/${view.jobId}/report" id="report-link">Test report</a>` : ''}</p>` : ''}
  ${steps(view, stepNames)}
  ${actions.length > 0 ? html`<div class="actions">${actions}</div>` : ''}
</section>`;
}

/** The end of the job's log (`#job-log`). */
export function logBlock(lines: readonly string[] | undefined): Html {
  if (lines === undefined) return html`<pre class="log" id="job-log">The log is not available.</pre>`;
  return html`<pre class="log" id="job-log">${lines.length > 0 ? lines.join('\n') : 'No log lines yet.'}</pre>`;
}

export function jobBody(card: Html, log: Html | undefined): Html {
  return html`${card}
${log ? html`<h2>Log</h2>${log}` : ''}
<p><a href="/jobs">All jobs</a></p>`;
}

export function reportBody(view: JobStatusView, report: TestReport): Html {
  const failed = report.cases.filter((c) => c.status === 'failed');
  const rows = report.cases.map(
    (c) =>
      html`<tr class="case-${c.status}"><td>${stateBadge(c.status === 'passed' ? 'succeeded' : c.status === 'failed' ? 'failed' : 'cancelled')}</td><td>${c.name}${c.message ? html`<div class="meta">${c.message}</div>` : ''}</td></tr>`,
  );
  return html`<section class="card">
  <div class="line"><strong>${subject(view)}</strong> · <a href="/jobs/${view.jobId}"><code>${view.jobId}</code></a></div>
  <p class="totals"><span class="pass">${report.passed} passed</span> · <span class="fail">${report.failed} failed</span> · <span>${report.skipped} skipped</span> of ${report.total} (${report.format.toUpperCase()})</p>
  ${failed.length > 0 ? html`<p class="error">Failed: ${failed.map((c) => c.name).join('; ')}</p>` : ''}
  ${report.problems.length > 0 ? html`<ul class="problems">${report.problems.map((p) => html`<li>${p}</li>`)}</ul>` : ''}
</section>
<div class="scroll"><table class="report"><thead><tr><th>result</th><th>test</th></tr></thead><tbody>${rows}</tbody></table></div>
<p><a href="/jobs/${view.jobId}">Back to the job</a></p>`;
}
