// The web console over HTTP, against the real engine and Redis: one-time login links and their
// expiry, sessions that expire, CSRF refusals, the same roles and refusals as chat, guests sent to
// sign in, the audit page for admins only, and the download area served read-only.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../config/schema.ts';
import { onCallNow, testConfig } from '../helpers/engine.ts';
import { startWebEngine, type WebEngine } from '../helpers/web-console.ts';

let running: WebEngine | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** The clock of the bot: tests move it forward to expire links and sessions. */
let offset = 0;
const now = () => Date.now() + offset;

/** Bob on call, tests that pass, a fast demo recipe. */
function webConfig(edit?: (config: Config) => void): Config {
  return testConfig((config) => {
    onCallNow(config, ['bob', 'dave']);
    edit?.(config);
  });
}

async function start(edit?: (config: Config) => void): Promise<WebEngine> {
  offset = 0;
  running = await startWebEngine({ config: webConfig(edit), now });
  return running;
}

/** A browser without a browser: follows no redirects, keeps the session cookie. */
class Client {
  cookie: string | undefined;
  readonly base: string;
  constructor(base: string) {
    this.base = base;
  }
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookie) headers.set('cookie', this.cookie);
    const response = await fetch(path.startsWith('http') ? path : `${this.base}${path}`, {
      ...init,
      headers,
      redirect: 'manual',
    });
    const set = response.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0];
    return response;
  }
  post(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    return this.fetch(path, {
      method: 'POST',
      body: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });
  }
  /** The CSRF token of the signed-in session, as its pages carry it. */
  async csrf(): Promise<string> {
    const page = await (await this.fetch('/jobs')).text();
    const token = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
    if (!token) throw new Error('no CSRF token on the page');
    return token;
  }
}

async function signedIn(web: WebEngine, person: string): Promise<Client> {
  const client = new Client(web.web.url);
  const link = await web.loginLink(person);
  const done = await client.post(link, {});
  expect(done.status).toBe(303);
  return client;
}

/** GET with the path exactly as written (fetch would resolve `..` itself). */
function rawGet(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function pendingRequest(web: WebEngine): Promise<string> {
  const built = await web.say('build 2.5 kvm', 'alice');
  await web.engine.core.notifier.whenSettled(built.jobs);
  const asked = await web.say('revoke 2.5 --reason "CVE-1"', 'alice');
  const id = /Request (r-[a-z0-9]+)\./.exec(asked.reply)?.[1];
  if (!id) throw new Error(`no request in: ${asked.reply}`);
  return id;
}

describe('web console', () => {
  it('sends guests to sign in, and reloads a link followed from chat once from its own site', async () => {
    const web = await start();
    const guest = new Client(web.web.url);
    for (const path of ['/jobs', '/jobs/abc12345', '/images', '/approvals', '/workers', '/audit']) {
      const response = await guest.fetch(path);
      expect(response.status, path).toBe(303);
      expect(response.headers.get('location')).toBe('/signin');
    }
    const approve = await guest.post('/approvals/r-abcdef/approve', { _csrf: 'x' });
    expect(approve.status).toBe(303);
    const fromChat = await guest.fetch('/jobs/abc12345', { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(fromChat.status).toBe(200);
    expect(await fromChat.text()).toContain('<meta http-equiv="refresh" content="0">');
    const help = await (await guest.fetch('/signin')).text();
    expect(help).toContain('send <code>login</code> to vmops in a <strong>direct message</strong>');
  });

  it('gives login links only in direct messages, each good for one sign-in', async () => {
    const web = await start();
    const inRoom = await web.say('login', 'alice');
    expect(inRoom.reply).toBe(
      'login answers only in a direct message, so that a sign-in link never lands in a shared room: send me login directly.',
    );
    expect(inRoom.reply).not.toContain('/login/');
    const guestAsks = await web.say('login', 'mallory');
    expect(guestAsks.reply).toContain('login needs a person listed in the vmops config');

    const link = await web.loginLink('alice');
    expect(link.startsWith(`${web.web.url}/login/`)).toBe(true);
    const client = new Client(web.web.url);
    // Looking at the link (as a chat app's preview does) does not use it up.
    for (let i = 0; i < 2; i++) {
      const look = await client.fetch(link);
      expect(look.status).toBe(200);
      expect(await look.text()).toContain('Sign in as alice');
    }
    const signIn = await client.post(link, {});
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get('location')).toBe('/jobs');
    const cookie = signIn.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^vmops_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).not.toContain('Secure'); // no https publicUrl here
    const jobs = await client.fetch('/jobs');
    expect(jobs.status).toBe(200);
    const page = await jobs.text();
    expect(page).toContain('<span title="operator">alice</span>');
    expect(jobs.headers.get('content-security-policy')).toContain("script-src 'self'");

    // Used once: a second sign-in with it, from anywhere, fails.
    const again = await new Client(web.web.url).post(link, {});
    expect(again.status).toBe(410);
    expect((await new Client(web.web.url).fetch(link)).status).toBe(410);
  });

  it('expires login links and sessions', async () => {
    const web = await start((config) => {
      config.web.loginTtl = 60_000;
      config.web.sessionTtl = 3_600_000;
    });
    const link = await web.loginLink('alice');
    offset = 61_000;
    const late = new Client(web.web.url);
    expect((await late.fetch(link)).status).toBe(410);
    expect((await late.post(link, {})).status).toBe(410);

    const client = await signedIn(web, 'alice');
    expect((await client.fetch('/jobs')).status).toBe(200);
    offset += 3_601_000;
    const expired = await client.fetch('/jobs');
    expect(expired.status).toBe(303);
    expect(expired.headers.get('location')).toBe('/signin');
  });

  it('refuses a change without the CSRF token, with a wrong one, or from another site', async () => {
    const web = await start();
    const id = await pendingRequest(web);
    const bob = await signedIn(web, 'bob');
    const token = await bob.csrf();
    const refusals = [
      await bob.post(`/approvals/${id}/approve`, {}),
      await bob.post(`/approvals/${id}/approve`, { _csrf: `${token.slice(0, -1)}x` }),
      await bob.post(`/approvals/${id}/approve`, { _csrf: 'short' }),
      await bob.post(`/approvals/${id}/approve`, { _csrf: token }, { 'sec-fetch-site': 'cross-site' }),
      await bob.post('/logout', {}),
    ];
    for (const response of refusals) {
      expect(response.status).toBe(403);
      expect(await response.text()).toContain('CSRF check failed');
    }
    expect((await web.engine.core.approvals.pending()).map((r) => r.id)).toEqual([id]);
    // Another session's token is no good either.
    const dave = await signedIn(web, 'dave');
    expect((await dave.post(`/approvals/${id}/approve`, { _csrf: token })).status).toBe(403);
    expect((await web.engine.core.approvals.pending()).map((r) => r.id)).toEqual([id]);

    // The right token, as a header (scripts) or a field (forms), goes through.
    const approved = await bob.post(`/approvals/${id}/approve`, {}, { 'x-csrf-token': token });
    expect(approved.status).toBe(200);
    expect(await approved.text()).toContain(`✅ bob approved ${id}: revoke 2.5 --reason &quot;CVE-1&quot;`);
    expect(await web.engine.core.approvals.pending()).toEqual([]);
  });

  it('refuses a CSRF token of the right length in characters but not in bytes', async () => {
    const web = await start();
    const id = await pendingRequest(web);
    const bob = await signedIn(web, 'bob');
    const token = await bob.csrf();
    // `é` is one character but two bytes in UTF-8: the comparison must not throw (a 500).
    const forged = `${token.slice(0, -1)}é`;
    expect(forged.length).toBe(token.length);
    const refused = await bob.post(`/approvals/${id}/approve`, { _csrf: forged });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('CSRF check failed');
    expect((await web.engine.core.approvals.pending()).map((r) => r.id)).toEqual([id]);
  });

  it('answers page actions exactly as chat does: a viewer may not approve, nor the requester', async () => {
    const web = await start();
    const id = await pendingRequest(web);
    const carol = await signedIn(web, 'carol');
    const refused = await carol.post(`/approvals/${id}/approve`, { _csrf: await carol.csrf() });
    expect(refused.status).toBe(403);
    const text =
      'approve needs the approver role: you (carol) have the roles viewer; an admin can add it under people.carol.roles.';
    expect(await refused.text()).toContain(text);
    const inChat = await web.say(`approve ${id}`, 'carol');
    expect(inChat.reply).toBe(text);
    // carol sees the request, without buttons.
    const page = await (await carol.fetch('/approvals')).text();
    expect(page).toContain(id);
    expect(page).not.toContain(`/approvals/${id}/approve`);

    const alice = await signedIn(web, 'alice');
    const own = await alice.post(`/approvals/${id}/withdraw`, {
      _csrf: await alice.csrf(),
      reason: '<b>wrong</b> "version" it\'s',
    });
    expect(own.status).toBe(200);
    const body = await own.text();
    expect(body).toContain(`alice withdrew ${id}`);
    expect(body).toContain('&lt;b&gt;wrong&lt;/b&gt;');
    expect(body).not.toContain('<b>wrong</b>');

    // The audit trail has the web's commands like any other, under the person's web account.
    const entries = await web.engine.core.audit.recent(20);
    const carols = entries.find(
      (e) => e.kind === 'command' && e.actor === 'carol' && e.account === 'web:carol',
    );
    expect(carols?.detail?.code).toBe('forbidden');
  });

  it('shows the audit trail to admins only', async () => {
    const web = await start();
    const alice = await signedIn(web, 'alice');
    const refused = await alice.fetch('/audit');
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('audit needs the admin role: you (alice) have the roles operator');
    expect(await (await alice.fetch('/jobs')).text()).not.toContain('href="/audit"');
    const root = await signedIn(web, 'root');
    const page = await root.fetch('/audit');
    expect(page.status).toBe(200);
    const trail = await page.text();
    expect(trail).toContain('<span class="kind">command</span> · fake:dm:root</div><div>root: login</div>');
  });

  it('never follows a symbolic link out of the download area, to a file or through a directory', async () => {
    const web = await start();
    const downloads = join(web.engine.dataDir, 'downloads', 'cernvm');
    mkdirSync(downloads, { recursive: true });
    writeFileSync(join(downloads, 'index.json'), '{"product":"cernvm"}');
    const outside = join(web.engine.dataDir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), 'not for download');
    symlinkSync(join(outside, 'secret.txt'), join(downloads, 'secret.txt'));
    symlinkSync(outside, join(downloads, 'linked'));
    symlinkSync('index.json', join(downloads, 'alias.json')); // a link even inside the area is not followed
    const client = new Client(web.web.url);
    expect((await client.fetch('/downloads/cernvm/index.json')).status).toBe(200);
    for (const path of [
      '/downloads/cernvm/secret.txt',
      '/downloads/cernvm/linked/secret.txt',
      '/downloads/cernvm/alias.json',
    ]) {
      const response = await client.fetch(path);
      expect(response.status, path).toBe(404);
      expect(await response.text(), path).not.toContain('not for download');
    }
  });

  it('answers only to its own names: a rebound host name gets 421, /metrics included', async () => {
    const web = await start((config) => {
      config.web.publicUrl = 'https://vmops.example.org';
    });
    const port = new URL(web.web.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'vmops.example.org', `[::1]:${port}`]) {
      expect((await rawGet(web.web.url, '/healthz', { host })).status, host).toBe(200);
    }
    for (const host of [`attacker.example:${port}`, 'vmops.example.org.attacker.example', 'intranet']) {
      for (const path of ['/metrics', '/healthz', '/jobs']) {
        expect((await rawGet(web.web.url, path, { host })).status, `${host} ${path}`).toBe(421);
      }
    }
  });

  it('serves the download area read-only, without dot files or a way out of it', async () => {
    const web = await start();
    const downloads = join(web.engine.dataDir, 'downloads', 'cernvm');
    mkdirSync(downloads, { recursive: true });
    writeFileSync(join(downloads, 'index.json'), '{"product":"cernvm"}');
    writeFileSync(join(downloads, 'revocations.json'), '{"revoked": []}');
    writeFileSync(join(downloads, '.lock'), '');
    writeFileSync(join(web.engine.dataDir, 'secret.txt'), 'not for download');
    const client = new Client(web.web.url);
    const index = await client.fetch('/downloads/cernvm/index.json');
    expect(index.status).toBe(200);
    expect(await index.json()).toEqual({ product: 'cernvm' });
    expect((await client.fetch('/downloads/cernvm/revocations.json')).status).toBe(200);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      expect((await client.fetch('/downloads/cernvm/index.json', { method })).status, method).toBe(404);
    }
    expect((await client.fetch('/downloads/cernvm/.lock')).status).toBe(404);
    expect([403, 404]).toContain((await client.fetch('/downloads/cernvm/')).status); // no listing
    for (const path of [
      '/downloads/../secret.txt',
      '/downloads/cernvm/../../secret.txt',
      '/downloads/%2e%2e/secret.txt',
      '/downloads/cernvm/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/downloads/..%2fsecret.txt',
    ]) {
      const response = await rawGet(web.web.url, path);
      expect([400, 403, 404], path).toContain(response.status);
      expect(response.body).not.toContain('not for download');
    }
  });

  it('links status messages to the job page when a public URL is set', async () => {
    const web = await start((config) => {
      config.web.publicUrl = 'https://vmops.example.org';
    });
    const built = await web.say('build 2.6 kvm', 'alice');
    await web.engine.core.notifier.whenSettled(built.jobs);
    const status = web.engine.chat.sent.find((m) => m.versions[0]?.status?.jobId === built.jobs[0]);
    expect(status?.versions.at(-1)?.text).toMatch(
      new RegExp(
        `^✅ build cernvm 2.6 kvm · job ${built.jobs[0]} · .* · asked by alice · https://vmops.example.org/jobs/${built.jobs[0]}$`,
      ),
    );
    expect(await web.loginLink('alice')).toMatch(/^https:\/\/vmops\.example\.org\/login\//);
  });
});
