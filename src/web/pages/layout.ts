// The frame of every console page: head, the navigation a person may use, who is signed in, the page.
import { csrfInput } from '../csrf.ts';
import { type Html, html } from '../html.ts';

export interface NavItem {
  href: string;
  label: string;
}

export interface PageFrame {
  title: string;
  /** The navigation; empty on sign-in pages. */
  nav?: readonly NavItem[];
  /** Which nav entry is this page. */
  current?: string;
  /** Signed in as, with the CSRF token for the sign-out form. */
  who?: { person: string; roles: readonly string[]; csrf: string };
  /** Server-sent events this page follows (the console script keeps it live). */
  live?: string;
  body: Html;
}

export function layout(frame: PageFrame): string {
  const nav = frame.nav ?? [];
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${frame.title} · vmops</title>
<link rel="stylesheet" href="/assets/console.css">
<script src="/assets/console.js" defer></script>
</head>
<body${frame.live ? html` data-live="${frame.live}"` : ''}>
<header class="top">
  <a class="brand" href="/jobs">vmops</a>
  ${
    nav.length > 0
      ? html`<nav>${nav.map(
          (item) =>
            html`<a href="${item.href}"${item.href === frame.current ? html` aria-current="page"` : ''}>${item.label}</a>`,
        )}</nav>`
      : ''
  }
  ${
    frame.who
      ? html`<form class="who" method="post" action="/logout">
    <span title="${frame.who.roles.join(', ') || 'no roles'}">${frame.who.person}</span>
    ${csrfInput(frame.who.csrf)}
    <button type="submit" class="link">Sign out</button>
  </form>`
      : ''
  }
</header>
<main>
<h1>${frame.title}</h1>
${frame.body}
</main>
</body>
</html>
`.value;
}
