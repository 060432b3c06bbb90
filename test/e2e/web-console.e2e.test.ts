// The web console end to end, in Debian's Chromium at a phone's size, against the real engine on
// loopback: sign in through a login link asked for in chat, watch a test job progress live, open its
// report, see the requester refused on their own request, and approve it as the person on call.
// With VMOPS_SCREENSHOTS=<dir> it also saves the README's screenshots there.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onCallNow, testConfig } from '../helpers/engine.ts';
import { startWebEngine, type WebEngine } from '../helpers/web-console.ts';

/** Debian's Chromium, which the set-up script installs (`npm test` fails here rather than skip it). */
const CHROMIUM = '/usr/bin/chromium';
const PHONE = { width: 390, height: 844 };
const shots = process.env.VMOPS_SCREENSHOTS;

let browser: Browser | undefined;
let web: WebEngine | undefined;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 30_000);
afterAll(async () => {
  await browser?.close();
  await web?.stop();
});

async function shoot(page: Page, name: string): Promise<void> {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** A phone of its own for `person`, signed in through the link the bot sent them directly. */
async function phoneOf(person: string): Promise<Page> {
  if (!browser || !web) throw new Error('not started');
  const context = await browser.newContext({
    viewport: PHONE,
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  const page = await context.newPage();
  await page.goto(await web.loginLink(person));
  await page.getByRole('button', { name: `Sign in as ${person}` }).click();
  await page.waitForURL('**/jobs');
  return page;
}

describe('web console in Chromium on a phone', () => {
  it('signs in, follows a job live, opens its report, and answers an approval by the rules', async () => {
    web = await startWebEngine({
      config: testConfig((config) => {
        // dave is on call; bob (operator and approver) will ask.
        onCallNow(config, ['dave', 'bob']);
        const product = config.products.cernvm;
        if (product) {
          product.stages.test = {
            steps: [
              { name: 'boot', run: ['recipes/demo/step.sh', 'boot'], env: { VMOPS_DEMO_TICK: '0.6' } },
              { name: 'check', run: ['test/fixtures/steps/passing-report.sh'] },
            ],
          };
        }
      }),
    });
    const built = await web.say('build 2.5 kvm', 'alice');
    await web.engine.core.notifier.whenSettled(built.jobs);

    // alice signs in from her phone; the jobs page follows the jobs live.
    const alice = await phoneOf('alice');
    await expect.poll(() => alice.locator('#jobs-list li').count()).toBe(1);
    const tested = await web.say('test 2.5 kvm', 'alice');
    const jobId = tested.jobs[0] ?? '';
    const row = alice.locator(`#job-${jobId}`);
    await row.waitFor(); // appeared without a reload
    await alice.locator(`#job-${jobId}[data-state="running"]`).waitFor({ timeout: 10_000 });
    await shoot(alice, 'jobs');
    await row.click();
    await alice.waitForURL(`**/jobs/${jobId}`);
    const card = alice.locator('#job-card');
    await alice.locator('#job-card[data-state="running"]').waitFor();
    // Progress moves on the page by itself: the first step's percent grows, then the job ends.
    await alice.locator('#job-card .progress span', { hasText: /step 1\/2 boot · [1-9]\d*%/ }).waitFor();
    await alice.locator('#job-log', { hasText: 'demo boot: stage test of cernvm 2.5' }).waitFor();
    await shoot(alice, 'job-running');
    await alice.locator('#job-card[data-state="succeeded"]').waitFor({ timeout: 15_000 });
    await expect.poll(() => card.locator('.step-done').count()).toBe(2);
    await shoot(alice, 'job');
    await alice.locator('#report-link').click();
    await alice.waitForURL(`**/jobs/${jobId}/report`);
    expect(await alice.locator('.totals').textContent()).toContain('1 passed · 0 failed · 0 skipped of 1');
    expect(await alice.locator('table.report').textContent()).toContain('the image is fine');
    await shoot(alice, 'report');
    await alice.goto(`${web.web.url}/images`);
    await alice.locator('.format', { hasText: 'kvm' }).first().waitFor();
    await shoot(alice, 'images');

    // bob asks for a revoke in chat; on his phone, approving his own request is refused.
    const asked = await web.say('revoke 2.5 --reason "CVE-2024-1234 in the kernel"', 'bob');
    const requestId = /Request (r-[a-z0-9]+)\./.exec(asked.reply)?.[1] ?? '';
    expect(asked.reply).toContain('It waits for dave, who has been told directly');
    const bob = await phoneOf('bob');
    await bob.getByRole('link', { name: 'Approvals' }).click();
    const request = bob.locator(`#request-${requestId}`);
    await request.getByRole('button', { name: 'Approve' }).click();
    await bob.locator('#result').waitFor();
    expect(await bob.locator('#result').textContent()).toContain(
      `you asked for ${requestId} yourself (as bob, from fake:bob), so you cannot approve it, from this account or any other: someone else must (two-person rule).`,
    );
    await shoot(bob, 'approval-refused');

    // dave, on call, approves it from his phone: the revoke runs as bob's job.
    const dave = await phoneOf('dave');
    await dave.getByRole('link', { name: 'Approvals' }).click();
    await dave.locator(`#request-${requestId}`).waitFor();
    await shoot(dave, 'approvals');
    await dave.locator(`#request-${requestId}`).getByRole('button', { name: 'Approve' }).click();
    const result = dave.locator('#result');
    await result.waitFor();
    expect(await result.textContent()).toMatch(
      new RegExp(
        `✅ dave approved ${requestId}: revoke 2.5 --reason "CVE-2024-1234 in the kernel" \\(asked by bob\\) runs as job \\w+\\.`,
      ),
    );
    await result.getByRole('link').first().click();
    await dave.locator('#job-card[data-state="succeeded"]').waitFor({ timeout: 15_000 });
    expect(await dave.locator('#job-card').textContent()).toContain('revoke cernvm 2.5');
    expect(await dave.locator('#job-card').textContent()).toContain('asked by bob');
    // bob's refusal and dave's approval are in chat's room too, and in the audit trail.
    expect(web.engine.chat.texts().join('\n')).toContain(`✅ dave approved ${requestId}`);

    const root = await phoneOf('root');
    await root.getByRole('link', { name: 'Workers' }).click();
    await root.locator('.workers').waitFor();
    await shoot(root, 'workers');
    await root.getByRole('link', { name: 'Audit' }).click();
    await root.locator('.audit', { hasText: `dave approved ${requestId}` }).waitFor();
    await shoot(root, 'audit');
  }, 90_000);
});
