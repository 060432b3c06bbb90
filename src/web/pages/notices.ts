// Pages that say one thing: how to sign in, a login link to confirm, a used or expired link, a refusal,
// and what the bot answered to an action.
import type { Reply } from '../../types.ts';
import { type Html, html } from '../html.ts';

export function signInBody(botName: string): Html {
  return html`<section class="card">
<p>Sign in from chat: send <code>login</code> to ${botName} in a <strong>direct message</strong> (in the terminal of local mode, just type it). The bot answers with a link that signs you in, as yourself and with your roles. The link works once and for a few minutes only.</p>
</section>`;
}

export function confirmLoginBody(person: string, token: string): Html {
  return html`<section class="card">
<p>This link signs you in as <strong>${person}</strong>. It works once.</p>
<form method="post" action="/login/${token}"><button type="submit" class="primary" id="sign-in">Sign in as ${person}</button></form>
</section>`;
}

export function deadLinkBody(): Html {
  return html`<section class="card"><p class="error">This sign-in link was used already, has expired or never existed.</p>
<p>Ask the bot for a new one: <code>login</code> in a direct message.</p></section>`;
}

export function refusedBody(text: string): Html {
  return html`<section class="card"><p class="error" id="refusal">${text}</p></section>`;
}

export function resultBody(
  replies: readonly Reply[],
  jobs: readonly string[],
  back: { href: string; label: string },
): Html {
  const said = replies.filter((r) => r.status === undefined);
  return html`<section class="card" id="result">
${said.length > 0 ? said.map((r) => html`<p class="reply tone-${r.tone}">${r.text}</p>`) : html`<p>Done.</p>`}
${jobs.length > 0 ? html`<p>Jobs: ${jobs.map((id, i) => html`${i > 0 ? ', ' : ''}<a href="/jobs/${id}">${id}</a>`)}</p>` : ''}
</section>
<p><a href="${back.href}">${back.label}</a></p>`;
}

/** A cross-site navigation arrives without the SameSite=Strict cookie: reload once from this site. */
export function bouncePage(): string {
  return '<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0"><title>vmops</title></head><body>Opening…</body></html>';
}
