// Pending approval requests, with approve, deny and withdraw. The buttons send the same commands as
// chat (`approve r-…`), so the same rules decide: the two-person rule, roles, on call, expiry.
import type { ApprovalView } from '../../approvals/approval-types.ts';
import { csrfInput } from '../csrf.ts';
import { type Html, html } from '../html.ts';

export interface ApprovalPowers {
  csrf: string;
  /** Whose page it is. */
  person: string;
  /** May run approve / deny / withdraw, by role. */
  answer: boolean;
  withdraw: boolean;
  /** Renders a time for people (the rota's time zone). */
  time(at: number): string;
}

function requestCard(request: ApprovalView, powers: ApprovalPowers): Html {
  const own = request.requester === powers.person;
  const hidden = csrfInput(powers.csrf);
  const forms: Html[] = [];
  if (powers.answer) {
    forms.push(
      html`<form method="post" action="/approvals/${request.id}/approve">${hidden}<button type="submit" class="primary">Approve</button></form>`,
    );
    forms.push(
      html`<form method="post" action="/approvals/${request.id}/deny" class="deny">${hidden}<input type="text" name="reason" maxlength="300" placeholder="reason (optional)" aria-label="reason"><button type="submit" class="danger">Deny</button></form>`,
    );
  }
  if (own && powers.withdraw) {
    forms.push(
      html`<form method="post" action="/approvals/${request.id}/withdraw">${hidden}<button type="submit">Withdraw</button></form>`,
    );
  }
  return html`<li class="card request" id="request-${request.id}">
  <div class="line"><code>${request.id}</code> <strong>${request.text}</strong></div>
  <div class="meta">asked by ${request.requester}${own ? ' (you)' : ''} in ${request.room} · sent to ${request.notified.join(', ') || 'nobody yet'}</div>
  <div class="meta">expires ${powers.time(request.expiresAt)}</div>
  ${forms.length > 0 ? html`<div class="actions">${forms}</div>` : ''}
</li>`;
}

export function approvalsBody(
  requests: readonly ApprovalView[],
  powers: ApprovalPowers,
  oncall: string,
): Html {
  return html`<p class="hint">${oncall}</p>
${requests.length > 0 ? html`<ul class="requests">${requests.map((r) => requestCard(r, powers))}</ul>` : html`<p class="empty">No requests are waiting for approval.</p>`}`;
}
