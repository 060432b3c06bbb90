// The live workers: host, stages, formats, running jobs, last heartbeat.
import type { AgentInfo } from '../../queue/agent-presence.ts';
import { formatDuration } from '../../render/duration.ts';
import { type Html, html } from '../html.ts';

export function workersBody(agents: readonly AgentInfo[], now: number): Html {
  if (agents.length === 0) {
    return html`<p class="empty">No live workers: jobs wait in their queues until one starts (npm start -- worker).</p>`;
  }
  return html`<ul class="workers">${agents.map(
    (a) => html`<li class="card">
  <div class="line"><strong>${a.name}</strong> <span class="badge">${a.running} running</span></div>
  <div class="meta">host ${a.host} · pid ${a.pid} · up ${formatDuration(now - a.startedAt)} · seen ${formatDuration(Math.max(0, now - a.seenAt))} ago</div>
  <div class="meta">stages: ${a.stages.join(', ')}</div>
  <div class="meta">formats: ${a.formats.join(', ') || '—'}</div>
</li>`,
  )}</ul>`;
}
