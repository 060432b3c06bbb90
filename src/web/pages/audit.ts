// The audit trail, newest first (admins, or whoever policy lets run `audit`).
import type { AuditEntry } from '../../audit/audit-trail.ts';
import { renderUntrusted } from '../../render/untrusted.ts';
import { type Html, html } from '../html.ts';

export function auditBody(entries: readonly AuditEntry[]): Html {
  if (entries.length === 0) return html`<p class="empty">The audit trail is empty.</p>`;
  return html`<p class="hint">The last ${entries.length} entries, newest first. <code>audit verify</code> in chat checks the chain.</p>
<ul class="audit">${entries.map(
    (e) =>
      html`<li><div class="meta"><time>${renderUntrusted(e.at.replace('T', ' ').slice(0, 19), 'html')}Z</time> · <span class="kind">${renderUntrusted(e.kind, 'html')}</span>${e.room ? ` · ${renderUntrusted(e.room, 'html')}` : ''}</div><div>${renderUntrusted(e.summary, 'html')}</div></li>`,
  )}</ul>`;
}
