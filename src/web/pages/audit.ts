// The audit trail, newest first (admins, or whoever policy lets run `audit`).
import type { AuditEntry } from '../../audit/audit-trail.ts';
import { type Html, html } from '../html.ts';

export function auditBody(entries: readonly AuditEntry[]): Html {
  if (entries.length === 0) return html`<p class="empty">The audit trail is empty.</p>`;
  return html`<p class="hint">The last ${entries.length} entries, newest first. <code>audit verify</code> in chat checks the chain.</p>
<ul class="audit">${entries.map(
    (e) =>
      html`<li><div class="meta"><time>${e.at.replace('T', ' ').slice(0, 19)}Z</time> · <span class="kind">${e.kind}</span>${e.room ? ` · ${e.room}` : ''}</div><div>${e.summary}</div></li>`,
  )}</ul>`;
}
