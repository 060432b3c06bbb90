// The console's html template escapes everything it is given unless the console wrote it as Html.
import { describe, expect, it } from 'vitest';
import { identitiesFromConfig, WEB_NETWORK } from '../../../src/people/identify.ts';
import { escapeHtml, html, raw } from '../../../src/web/html.ts';

describe('html', () => {
  it('escapes interpolated text, attributes included', () => {
    const name = `<img src=x onerror="alert('1')">&\``;
    expect(html`<p title="${name}">${name}</p>`.value).toBe(
      '<p title="&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;&#96;">&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;&#96;</p>',
    );
  });

  it('keeps nested Html, joins arrays and drops nothing-values', () => {
    const items = ['a<b', 'c'].map((t) => html`<li>${t}</li>`);
    expect(html`<ul>${items}</ul>${undefined}${null}${false}${0}`.value).toBe(
      '<ul><li>a&lt;b</li><li>c</li></ul>0',
    );
    expect(html`${raw('<br>')}`.value).toBe('<br>');
    expect(escapeHtml('"\'')).toBe('&quot;&#39;');
  });
});

describe('identify on the web network', () => {
  const identify = identitiesFromConfig({
    alice: { accounts: { shell: 'alice', web: 'mallory' }, roles: ['operator'] },
  });
  const sender = (id: string) => ({ id, displayName: id, isBot: false, isSelf: false });

  it('takes the sender id as the person id a login link proved', () => {
    expect(identify(WEB_NETWORK, sender('alice'))).toMatchObject({
      id: 'alice',
      known: true,
      roles: ['operator'],
    });
  });

  it('knows no one else there: not accounts listed under web, not object keys', () => {
    expect(identify(WEB_NETWORK, sender('mallory')).known).toBe(false);
    expect(identify(WEB_NETWORK, sender('__proto__')).known).toBe(false);
    expect(identify(WEB_NETWORK, sender('toString')).known).toBe(false);
  });
});
