// What the one outbox does with failures, through the real SDKs against the local Slack and Matrix:
// a refusal is tried once (no retry layer above the outbox), a passing failure is tried again under
// the same transaction id so the platform stores it once, and a status message reserved by an
// instance that died before posting it is posted by another instance.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/redis/keys.ts';
import type { Reply } from '../../src/types.ts';
import { MatrixRig, SLACK_CHANNEL, SLACK_USERS, SlackRig } from '../helpers/chat-rigs.ts';
import { type Engine, startEngine } from '../helpers/engine.ts';
import { FakeChat, message } from '../helpers/fake-chat.ts';
import { redisUrl } from '../helpers/redis.ts';
import type { FakeMessage } from '../helpers/slack-server.ts';
import { until } from '../helpers/until.ts';

const undo: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of undo.splice(0).reverse()) await step();
});

const text = (m: FakeMessage) => m.versions.at(-1)?.text ?? '';
const FAST = { perSecond: 50, burst: 50 };

describe('outbox failures', () => {
  it('tries a Slack edit that Slack refuses for good once, and leaves that card alone afterwards', async () => {
    const rig = await SlackRig.start({ fake: { postLimit: FAST, updateLimit: FAST } });
    undo.push(() => rig.stop());
    const bot = await rig.addBot({ post: FAST, update: FAST }, { minEditIntervalMs: 50 });
    const abandoned = new Promise<string>((resolve) => bot.core.notifier.once('abandoned', resolve));
    rig.slack.mention(SLACK_USERS.alice, SLACK_CHANNEL, 'build 2.6 kvm');
    const card = await rig.slack.waitForMessage(SLACK_CHANNEL, / · job \w+ · /, 'the card');
    // Someone deletes the card: every chat.update of it is `message_not_found` from now on.
    const deletedAt = Date.now();
    rig.slack.deleteMessage(card.channel, card.ts);
    const jobId = await abandoned;
    await until(async () => (await bot.core.jobs.get(jobId))?.state === 'succeeded', {
      what: 'the job to finish',
    });
    const updates = rig.slack.calls.filter(
      (c) => c.method === 'chat.update' && c.args.ts === card.ts && c.at >= deletedAt,
    );
    expect(updates.map((c) => c.error)).toEqual(['message_not_found']);
  }, 60_000);

  it('tries a Slack post again after a 502 from a proxy, and posts the card once', async () => {
    const rig = await SlackRig.start({ fake: { postLimit: FAST, updateLimit: FAST } });
    undo.push(() => rig.stop());
    await rig.addBot({ post: FAST, update: FAST }, { minEditIntervalMs: 50 });
    rig.slack.failCalls('chat.postMessage', 2);
    rig.slack.mention(SLACK_USERS.alice, SLACK_CHANNEL, 'build 2.6 kvm');
    await rig.slack.waitForMessage(SLACK_CHANNEL, / · succeeded/, 'the final card');
    const posts = rig.slack.calls.filter((c) => c.method === 'chat.postMessage');
    expect(posts.map((c) => c.status)).toEqual([502, 502, 200]);
    expect(rig.slack.messagesIn(SLACK_CHANNEL).filter((m) => / · job /.test(text(m)))).toHaveLength(1);
  }, 60_000);

  it('never posts a Matrix status message twice when the answer to its send is lost (502 after storing)', async () => {
    const rig = await MatrixRig.start({ hs: { rateLimit: FAST } });
    undo.push(() => rig.stop());
    const bot = await rig.addBot(FAST);
    rig.hs.failSends(3, { stored: true });
    rig.hs.act(rig.alice).send(rig.room, { msgtype: 'm.text', body: '!build 2.6 kvm' });
    await rig.hs.waitForEvent(rig.room, () => rig.notices().some((n) => / · succeeded/.test(n.body)));
    const [handled] = await until(() => (bot.handled.length > 0 ? bot.handled : undefined));
    const jobId = handled?.result.jobs?.[0] ?? '';
    await bot.core.notifier.whenSettled([jobId]);
    await until(() => bot.core.outbox.pending === 0, { what: 'the outbox to be idle' });
    // Each send whose answer was lost went again under its transaction id, and was not stored again.
    const sends = rig.hs.requests.filter((r) => r.method === 'PUT' && r.path.includes('/send/'));
    const lost = sends.filter((r) => r.status === 502);
    expect(lost.length).toBeGreaterThan(0);
    for (const r of lost) {
      expect(sends.some((again) => again.path === r.path && again.status === 200 && again.at >= r.at)).toBe(
        true,
      );
    }
    expect(rig.notices().filter((n) => n.body.includes(`job ${jobId}`))).toHaveLength(1);
  }, 60_000);
});

/** A chat whose status messages never get out: the instance dies with its post on the way. */
class StuckChat extends FakeChat {
  override send(...args: Parameters<FakeChat['send']>): ReturnType<FakeChat['send']> {
    const [, reply] = args as [unknown, Reply];
    if (reply.status) return new Promise(() => undefined);
    return super.send(...args);
  }
}

describe('status messages reserved by an instance that died', () => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
  });

  it('are posted by another instance, once, and reach their final state', async () => {
    const stuck = new StuckChat();
    engine = await startEngine({ chat: stuck, statusLeaseMs: 400 });
    // The command is handled up to its status message, whose send never returns.
    void engine.core.handle(message('build 2.6 kvm'));
    const redis = new Redis(redisUrl());
    undo.push(async () => redis.disconnect());
    const keys = redisKeys(engine.config.redis.prefix);
    const jobId = await until(async () => (await redis.hkeys(keys.statusMessages))[0], {
      what: 'the status message to be reserved',
    });
    expect(await redis.hget(keys.statusMessages, jobId)).toMatch(/^pending:/);
    // The instance that reserved the message stops without having posted it.
    await engine.core.close();
    const other = await engine.addBot(new FakeChat());
    await other.core.notifier.whenSettled([jobId]);
    const posted = other.chat.sent.filter((m) => m.versions[0]?.status?.jobId === jobId);
    expect(posted).toHaveLength(1);
    expect(posted[0]?.versions.at(-1)?.status?.state).toBe('succeeded');
    expect(stuck.sent).toHaveLength(0);
  }, 60_000);
});
