// Approvals through the real bot core and Redis, on two chat networks at once: the two-person rule
// across accounts, exact arguments, answered and expired requests, escalation, several bot instances,
// and the audit trail of it all.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../config/schema.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { type Engine, onCallNow, startEngine, testConfig } from '../helpers/engine.ts';
import { FakeChat, message, type SentMessage } from '../helpers/fake-chat.ts';
import { redisUrl } from '../helpers/redis.ts';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

/** The default people, also on a second network `other` (alice as `@alice:other`, …), bob on call. */
function approvalConfig(edit?: (config: Config) => void): Config {
  return testConfig((config) => {
    for (const [name, person] of Object.entries(config.people)) person.accounts.other = `@${name}:other`;
    onCallNow(config, ['bob', 'dave']);
    const product = config.products.cernvm;
    if (product)
      product.stages.test = { steps: [{ name: 'check', run: ['test/fixtures/steps/passing-report.sh'] }] };
    edit?.(config);
  });
}

async function start(edit?: (config: Config) => void) {
  const other = new FakeChat('other');
  engine = await startEngine({ config: approvalConfig(edit), moreChats: [other] });
  return { fake: engine.chat, other };
}

/** Says `text` as `account` on a network and returns the replies that came back to that room. */
async function say(chat: FakeChat, text: string, account: string, room = 'room1') {
  if (!engine) throw new Error('no engine');
  const before = chat.sent.length;
  const handled = await engine.core.handle(
    message(text, { account, target: { network: chat.network, room, isDirect: false }, mentioned: true }),
  );
  const replies = chat.sent
    .slice(before)
    .filter((m) => m.target.room === room)
    .map((m) => m.versions.at(-1)?.text ?? '');
  return { ...handled, replies, reply: replies.join('\n') };
}

const requestId = (text: string) => /Request (r-[a-z0-9]+)\./.exec(text)?.[1] ?? '';
const directTo = (chat: FakeChat, account: string) =>
  chat.sent.filter((m) => m.target.room === `dm:${account}`);
const finalText = (m: SentMessage) => m.versions.at(-1)?.text ?? '';
const firstText = (m: SentMessage) => m.versions[0]?.text ?? '';

async function builtVersion(chat: FakeChat, version: string) {
  const built = await say(chat, `build ${version} kvm`, 'alice');
  await engine?.core.notifier.whenSettled(built.jobs);
}

describe('approvals', () => {
  it('holds revoke for the on-call approver, refuses self-approval from any account, runs it once when bob approves from another network', async () => {
    const { fake, other } = await start();
    await builtVersion(fake, '2.5');

    const asked = await say(fake, 'revoke 2.5 --reason "CVE-1"', 'alice');
    expect(asked.jobs).toEqual([]);
    const id = requestId(asked.reply);
    expect(id).toMatch(/^r-[a-z2-9]{6}$/);
    expect(asked.reply).toContain(`revoke 2.5 --reason "CVE-1": revoke always waits for an approval.`);
    expect(asked.reply).toContain('It waits for bob, who has been told directly');
    // bob hears of it directly on every network he is on; dave (next on call) not yet.
    expect(directTo(fake, 'bob').map(finalText)).toEqual([expect.stringContaining(`approve ${id}`)]);
    expect(directTo(other, '@bob:other').map(finalText)).toEqual([expect.stringContaining(`approve ${id}`)]);
    expect(directTo(fake, 'dave')).toEqual([]);

    // alice may not approve, not even from her other account, nor may a viewer or a stranger.
    for (const [chat, account] of [
      [fake, 'alice'],
      [other, '@alice:other'],
    ] as const) {
      // alice is no approver, so the role check answers first; give her the role and the two-person rule does.
      expect((await say(chat, `approve ${id}`, account)).reply).toMatch(/^approve needs the approver role/);
    }
    expect((await say(fake, `approve ${id}`, 'carol')).reply).toMatch(/^approve needs the approver role/);
    expect((await say(fake, `approve ${id}`, 'mallory')).reply).toMatch(/you are a guest/);
    expect((await say(fake, `approve ${id}`, 'Bob')).reply).toMatch(/you are a guest/);

    const approved = await say(other, `approve ${id}`, '@bob:other', 'ops');
    expect(approved.reply).toMatch(
      new RegExp(
        `^✅ bob approved ${id}: revoke 2\\.5 --reason "CVE-1" \\(asked by alice\\) runs as job \\w+\\.`,
      ),
    );
    const jobId = /runs as job (\w+)/.exec(approved.reply)?.[1] ?? '';
    // The room that asked hears it, and gets the job's status message.
    await fake.waitFor((m) => m.target.room === 'room1' && finalText(m).includes(`bob approved ${id}`));
    await engine?.core.notifier.whenSettled([jobId]);
    const status = await fake.waitFor((m) =>
      finalText(m).startsWith(`✅ revoke cernvm 2.5 · job ${jobId} · succeeded`),
    );
    expect(status.target.room).toBe('room1');
    expect((await say(fake, 'images 2.5', 'alice')).reply).toContain('revoked');

    // Answered once: a second approve, from anyone, anywhere, is refused and runs nothing.
    const again = await say(fake, `approve ${id}`, 'dave');
    expect(again.reply).toMatch(
      new RegExp(
        `^${id} \\(revoke 2\\.5 --reason "CVE-1"\\) was already approved by bob at .*: it cannot be answered again\\.$`,
      ),
    );
    expect(again.jobs).toEqual([]);
    expect((await say(fake, `deny ${id}`, 'bob')).reply).toMatch(/was already approved by bob/);
    expect((await say(fake, 'jobs', 'alice')).reply.match(/revoke/g)).toHaveLength(1);
  });

  it('never lets the requester approve, whichever account: an approver who asks needs another approver', async () => {
    const { fake, other } = await start();
    await builtVersion(fake, '2.5');
    const asked = await say(fake, 'revoke 2.5', 'bob');
    const id = requestId(asked.reply);
    // bob is on call but asked himself, so dave is asked.
    expect(asked.reply).toContain('It waits for dave');
    for (const [chat, account] of [
      [fake, 'bob'],
      [other, '@bob:other'],
    ] as const) {
      const refused = await say(chat, `approve ${id}`, account);
      expect(refused.reply).toBe(
        `you asked for ${id} yourself (as bob, from fake:bob), so you cannot approve it, from this account or any other: someone else must (two-person rule). You may withdraw it with \`withdraw ${id}\`.`,
      );
      expect(refused.jobs).toEqual([]);
    }
    expect((await say(fake, 'pending', 'carol')).reply).toMatch(
      new RegExp(
        `^1 request waiting.*\\n${id}  revoke 2\\.5 — asked by bob .* in fake:room1; sent to dave; expires in 30 minutes$`,
      ),
    );
    // Only bob may withdraw it; dave, who may deny it, may not withdraw it.
    expect((await say(fake, `withdraw ${id}`, 'root')).reply).toBe(
      `only bob, who asked for ${id}, can withdraw it; an approver refuses it with \`deny ${id} [reason]\`.`,
    );
    const withdrawn = await say(other, `withdraw ${id} wrong version`, '@bob:other', 'ops');
    expect(withdrawn.reply).toBe(
      `🚫 bob withdrew ${id} (revoke 2.5, asked by bob): wrong version. Nothing was done.`,
    );
    expect((await say(fake, 'pending', 'carol')).reply).toBe('No requests are waiting for approval.');
    expect((await say(fake, `approve ${id}`, 'dave')).reply).toMatch(/was already withdrawn by bob at /);
  });

  it('denies with a reason told to the room that asked, and nothing runs', async () => {
    const { fake, other } = await start();
    await builtVersion(fake, '2.6');
    await say(fake, 'test 2.6 kvm', 'alice').then((r) => engine?.core.notifier.whenSettled(r.jobs));
    await say(fake, 'publish 2.6 kvm', 'alice').then((r) => engine?.core.notifier.whenSettled(r.jobs));
    const asked = await say(fake, 'deploy 2.6 local lxplus-cloud', 'alice');
    expect(asked.reply).toContain('deploy to lxplus-cloud (tagged production) waits for an approval');
    expect(asked.jobs).toEqual([]);
    const id = requestId(asked.reply);
    const denied = await say(other, `deny ${id} not during the conference`, '@dave:other', 'ops');
    expect(denied.reply).toBe(
      `🚫 dave denied ${id} (deploy 2.6 local lxplus-cloud, asked by alice): not during the conference. Nothing was done.`,
    );
    await fake.waitFor((m) => m.target.room === 'room1' && finalText(m) === denied.reply);
    expect((await say(fake, `approve ${id}`, 'bob')).reply).toMatch(/was already denied by dave/);
    expect((await say(fake, 'jobs', 'alice')).reply).not.toContain('deploy');
  });

  it('asks for publish of a version older than the newest, not for the newest', async () => {
    const { fake } = await start();
    await builtVersion(fake, '2.5');
    await builtVersion(fake, '2.10');
    for (const v of ['2.5', '2.10']) {
      await say(fake, `test ${v} kvm`, 'alice').then((r) => engine?.core.notifier.whenSettled(r.jobs));
    }
    const older = await say(fake, 'publish 2.5 kvm', 'alice');
    expect(older.reply).toContain(
      'publish of cernvm 2.5, older than the newest version 2.10, waits for an approval',
    );
    expect(older.jobs).toEqual([]);
    const newest = await say(fake, 'publish 2.10 kvm', 'alice');
    expect(newest.reply).not.toContain('approval');
    expect(newest.jobs).toHaveLength(1);
  });

  it('asks before a command that acts by itself takes effect, and runs it only once approved', async () => {
    await start((config) => {
      config.policy.approvals.always = ['oncall'];
    });
    if (!engine) throw new Error('no engine');
    const redis = new Redis(redisUrl());
    try {
      const override = redisKeys(engine.config.redis.prefix).oncallOverride;
      const asked = await say(engine.chat, 'oncall set dave 8h', 'root');
      expect(asked.reply).toContain('oncall always waits for an approval');
      // Nothing of it happened: no override was set while the request waits.
      expect(await redis.exists(override)).toBe(0);
      const approved = await say(engine.chat, `approve ${requestId(asked.reply)}`, 'bob', 'ops');
      expect(approved.reply).toMatch(/^✅ bob approved/);
      expect(await redis.exists(override)).toBe(1);
    } finally {
      redis.disconnect();
    }
  });

  it('answers an identical request with the one already waiting, whoever asks', async () => {
    const { fake } = await start();
    await builtVersion(fake, '2.5');
    const first = await say(fake, 'revoke 2.5', 'alice');
    const id = requestId(first.reply);
    const second = await say(fake, 'revoke 2.5', 'alice');
    expect(second.reply).toContain('The same request is already waiting (asked by you)');
    expect(requestId(second.reply)).toBe(id);
    const third = await say(fake, 'revoke cernvm 2.5', 'bob');
    expect(third.reply).toContain('already waiting (asked by alice)');
    expect(requestId(third.reply)).toBe(id);
    // Other arguments are another request.
    const other = await say(fake, 'revoke 2.5 --reason CVE', 'alice');
    expect(requestId(other.reply)).not.toBe(id);
    expect((await say(fake, 'pending', 'alice')).reply.match(/r-[a-z0-9]+/g)?.length).toBe(2);
  });

  it('makes one request when the same change is asked at the same moment on two bot instances', async () => {
    const { fake } = await start();
    await builtVersion(fake, '2.5');
    const second = await engine?.addBot(new FakeChat('fake'));
    if (!engine || !second) throw new Error('no engine');
    const asks = await Promise.all([
      engine.core.handle(message('revoke 2.5', { account: 'alice', mentioned: true })),
      second.core.handle(message('revoke cernvm 2.5', { account: 'bob', mentioned: true })),
      engine.core.handle(message('revoke 2.5', { account: 'root', mentioned: true })),
    ]);
    expect(asks.flatMap((a) => a.jobs)).toEqual([]);
    const texts = [...fake.sent, ...second.chat.sent].map(firstText);
    const ids = new Set(texts.map(requestId).filter((id) => id !== ''));
    expect(ids.size).toBe(1);
    expect(texts.filter((t) => t.startsWith('The same request is already waiting'))).toHaveLength(2);
    expect((await say(fake, 'pending', 'alice')).reply.match(/r-[a-z0-9]+/g)).toEqual([...ids]);
  });

  it('expires an unanswered request, tells the room, and refuses a late approve', async () => {
    const { fake } = await start((config) => {
      config.policy.approvals.expireAfter = 300;
      config.policy.approvals.escalateAfter = 100;
    });
    await builtVersion(fake, '2.5');
    const id = requestId((await say(fake, 'revoke 2.5', 'alice')).reply);
    const told = await fake.waitFor((m) => m.target.room === 'room1' && firstText(m).startsWith(`⌛ ${id}`));
    expect(finalText(told)).toMatch(
      new RegExp(
        `^⌛ ${id} \\(revoke 2\\.5, asked by alice\\) expired after 300 ms without an answer, so it was cancelled: nothing was done\\.`,
      ),
    );
    // Before expiring it went on to dave, the next on call.
    expect(fake.texts()).toContain(
      `${id} (revoke 2.5) had no answer from bob within 100 ms: it was sent on to dave.`,
    );
    expect(directTo(fake, 'dave').map(firstText)).toEqual([
      expect.stringContaining(`did not answer: revoke 2.5`),
    ]);
    // Every message that carried the request's buttons now says it expired, without buttons.
    const requests = fake.sent.filter((m) =>
      m.versions[0]?.actions?.some((a) => a.command === `approve ${id}`),
    );
    expect(requests.length).toBeGreaterThanOrEqual(3); // the room, bob, dave
    for (const m of requests) {
      expect(finalText(m)).toMatch(new RegExp(`^⌛ ${id} \\(revoke 2\\.5`));
      expect(m.versions.at(-1)?.actions).toBeUndefined();
    }
    const late = await say(fake, `approve ${id}`, 'bob');
    expect(late.reply).toMatch(
      new RegExp(
        `^${id} \\(revoke 2\\.5\\) expired at .* without an answer: it cannot be answered again\\. To try again, alice can ask anew\\.$`,
      ),
    );
    expect(late.jobs).toEqual([]);
    // The room was told once (besides the request's own message, edited to say so).
    expect(fake.sent.filter((m) => firstText(m).startsWith(`⌛ ${id}`))).toHaveLength(1);
  });

  it('answers one approve once when two bot instances and two approvers race', async () => {
    const { fake } = await start();
    await builtVersion(fake, '2.5');
    const id = requestId((await say(fake, 'revoke 2.5', 'alice')).reply);
    const second = await engine?.addBot(new FakeChat('fake'));
    if (!engine || !second) throw new Error('no engine');
    const results = await Promise.all([
      engine.core.handle(message(`approve ${id}`, { account: 'bob' })),
      second.core.handle(message(`approve ${id}`, { account: 'dave' })),
    ]);
    expect(results.flatMap((r) => r.jobs)).toHaveLength(1);
    // Answered once: one reply says approved (the request's messages are edited to say so too).
    const texts = [...fake.sent, ...second.chat.sent].map(firstText);
    expect(texts.filter((t) => /^✅ \w+ approved/.test(t))).toHaveLength(1);
    expect(texts.filter((t) => /was already approved by/.test(t))).toHaveLength(1);
  });

  it('still runs an approved command, and answers, when the audit trail cannot be written', async () => {
    const { fake } = await start();
    await builtVersion(fake, '2.5');
    const id = requestId((await say(fake, 'revoke 2.5', 'alice')).reply);
    if (!engine) throw new Error('no engine');
    engine.core.audit.append = () => Promise.reject(new Error('the audit stream is unwritable'));
    const approved = await say(fake, `approve ${id}`, 'bob');
    expect(approved.reply).toMatch(
      new RegExp(`^✅ bob approved ${id}: revoke 2\\.5 \\(asked by alice\\) runs as job \\w+\\.`, 'm'),
    );
    await engine.core.notifier.whenSettled(approved.jobs);
    expect(fake.texts().some((t) => /^✅ revoke cernvm 2\.5 · job \w+ · succeeded/.test(t))).toBe(true);
  });

  it('writes every command and decision to an intact audit chain', async () => {
    const { fake } = await start();
    await builtVersion(fake, '2.5');
    const id = requestId((await say(fake, 'revoke 2.5', 'alice')).reply);
    await say(fake, `approve ${id}`, 'alice');
    const approved = await say(fake, `approve ${id}`, 'bob');
    await engine?.core.notifier.whenSettled(approved.jobs);
    const audit = await say(fake, 'audit 20', 'root');
    const all = audit.reply
      .split('\n')
      .slice(1)
      .map((line) => line.split('  ')[1]);
    // The workers write the jobs' starts and ends in between, in whatever order they happen.
    expect(all.filter((kind) => kind?.startsWith('job.'))).toEqual([
      'job.succeeded',
      'job.started',
      'job.succeeded',
      'job.started',
    ]);
    const kinds = all.filter((kind) => !kind?.startsWith('job.'));
    // Newest first: bob's approve (the decision, then the command), alice's refused approve, the revoke
    // (the request, then the command), the build.
    expect(kinds.slice(0, 6)).toEqual([
      'command',
      'approval.approved',
      'command',
      'command',
      'approval.requested',
      'command',
    ]);
    expect(audit.reply).toContain(`bob approved ${id}: revoke 2.5`);
    expect(audit.reply).toContain(`alice: approve ${id}`);
    expect((await say(fake, 'audit verify', 'root')).reply).toMatch(
      /^The audit chain is intact: \d+ entries/,
    );
    expect((await say(fake, 'audit', 'alice')).reply).toMatch(/^audit needs the admin role/);
  });
});
