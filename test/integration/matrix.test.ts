// The Matrix adapter through the real matrix-js-sdk against the local homeserver in
// test/helpers/matrix-homeserver.ts, with the real bot core, stage workers and Redis: commands and
// their edited status messages, identity from user ids only (not display names), no replays across
// restarts of the bot or of the homeserver, the rate limit under a burst, approvals given from a
// direct chat the bot started, invites, and encrypted rooms.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ENCRYPTED_NOTICE, MatrixAdapter } from '../../adapters/matrix/adapter.ts';
import { matrixKeys } from '../../adapters/matrix/sync-store.ts';
import type { Config } from '../../config/schema.ts';
import { type BotCore, startBotCore } from '../../src/app/bot-core.ts';
import { repoRoot } from '../../src/app/config-load.ts';
import type { HandledMessage } from '../../src/pipeline/handle-message.ts';
import { connectRedis } from '../../src/redis/connect.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { type StageWorkers, startStageWorkers } from '../../src/worker/stage-worker.ts';
import { matrixBotMessages } from '../helpers/chat-rigs.ts';
import { onCallNow, testConfig } from '../helpers/engine.ts';
import {
  type HomeserverOptions,
  type MatrixEvent,
  type MatrixHomeserver,
  startHomeserver,
} from '../helpers/matrix-homeserver.ts';
import { cleanPrefix, redisUrl } from '../helpers/redis.ts';

const log = pino({ level: process.env.VMOPS_TEST_LOG ?? 'silent' });

interface Bot {
  adapter: MatrixAdapter;
  core: BotCore;
  handled: HandledMessage[];
  /** Resolves with the n-th (0-based) message the bot handled, once it has. */
  handledAt(n: number): Promise<HandledMessage>;
  stop(): Promise<void>;
}

interface World {
  hs: MatrixHomeserver;
  config: Config;
  bot: string;
  botToken: string;
  alice: string;
  bob: string;
  mallory: string;
  room: string;
  worker: StageWorkers;
  bots: Bot[];
  dataDir: string;
  startBot(options?: { rateLimit?: { perSecond: number; burst: number }; password?: string }): Promise<Bot>;
}

let world: World | undefined;

afterEach(async () => {
  if (!world) return;
  const w = world;
  world = undefined;
  for (const bot of w.bots) await bot.stop();
  await w.worker.close({ cancelRunning: true });
  await w.hs.stop();
  await cleanPrefix(w.config.redis.prefix);
  rmSync(w.dataDir, { recursive: true, force: true });
});

async function setUp(
  options: HomeserverOptions & {
    botRate?: { perSecond: number; burst: number };
    edit?: (c: Config) => void;
  } = {},
): Promise<World> {
  const hs = await startHomeserver({ rateLimit: { perSecond: 50, burst: 50 }, ...options });
  const bot = hs.register('vmops');
  const botToken = hs.token(bot, 'VMOPSDEVICE');
  const alice = hs.register('alice');
  const bob = hs.register('bob');
  const mallory = hs.register('mallory');
  const room = hs.act(alice).createRoom({ preset: 'public_chat', name: 'ops', room_alias_name: 'ops' });
  const config = testConfig((c) => {
    for (const [name, person] of Object.entries(c.people)) person.accounts.matrix = `@${name}:localhost`;
    onCallNow(c, ['bob', 'dave']);
    options.edit?.(c);
  });
  const url = redisUrl();
  const dataDir = mkdtempSync(join(tmpdir(), 'vmops-matrix-test-'));
  const worker = await startStageWorkers({
    config,
    redisUrl: url,
    keys: redisKeys(config.redis.prefix),
    log,
    repoRoot,
    dataDir,
    name: 'matrix-test-worker',
  });
  const bots: Bot[] = [];
  const startBot = async (
    botOptions: { rateLimit?: { perSecond: number; burst: number }; password?: string } = {},
  ) => {
    const adapter = new MatrixAdapter({
      homeserverUrl: hs.url,
      userId: bot,
      ...(botOptions.password ? { password: botOptions.password } : { accessToken: botToken }),
      botName: config.bot.name,
      rooms: ['#ops:localhost'],
      inviters: Object.values(config.people).flatMap((p) => (p.accounts.matrix ? [p.accounts.matrix] : [])),
      inviteRooms: [],
      minEditIntervalMs: 50,
      maxMessageLength: 8000,
      rateLimit: botOptions.rateLimit ?? options.botRate ?? options.rateLimit ?? { perSecond: 50, burst: 50 },
      redisUrl: url,
      prefix: config.redis.prefix,
      log,
      pollTimeoutMs: 1000,
      startTimeoutMs: 15_000,
    });
    const handled: HandledMessage[] = [];
    const changes = new EventEmitter();
    // As src/app/run-bot.ts wires it: the adapter hands each message to the durable intake, which runs the pipeline.
    const core = await startBotCore({
      config,
      redisUrl: url,
      adapters: new Map([['matrix', adapter]]),
      log,
      instanceId: `matrix-test-${bots.length}`,
      sendRetryMs: 5,
      approvalSweepMs: 20,
      onHandled: (_m, result) => {
        handled.push(result);
        changes.emit('change');
      },
    });
    await adapter.start(async (m) => {
      await core.take(m);
    });
    const handledAt = (n: number) =>
      new Promise<HandledMessage>((resolve, reject) => {
        const check = () => {
          const found = handled[n];
          if (!found) return;
          changes.off('change', check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          changes.off('change', check);
          reject(new Error(`the bot handled ${handled.length} message(s), not ${n + 1}`));
        }, 20_000);
        changes.on('change', check);
        check();
      });
    let stopped = false;
    const started: Bot = {
      adapter,
      core,
      handled,
      handledAt,
      async stop() {
        if (stopped) return;
        stopped = true;
        await adapter.stop();
        await core.close();
      },
    };
    bots.push(started);
    return started;
  };
  world = { hs, config, bot, botToken, alice, bob, mallory, room, worker, bots, dataDir, startBot };
  return world;
}

const text = (body: string) => ({ msgtype: 'm.text', body });
const relation = (e: MatrixEvent) =>
  e.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined;
const isEdit = (e: MatrixEvent) => relation(e)?.rel_type === 'm.replace';

/** The bot's notices in a room (not edits), with their latest content. */
const notices = (w: World, roomId: string) => matrixBotMessages(w.hs, roomId, w.bot);

/** Waits until the bot has a notice in the room whose latest body matches. */
async function noticeMatching(w: World, roomId: string, pattern: RegExp) {
  await w.hs.waitForEvent(roomId, () => notices(w, roomId).some((n) => pattern.test(n.body)));
  const found = notices(w, roomId).find((n) => pattern.test(n.body));
  if (!found) throw new Error('vanished');
  return found;
}

/** Says something in a room as a person and waits until the bot has handled it (or ignored it). */
async function say(w: World, bot: Bot, who: string, roomId: string, body: string, extra = {}) {
  const before = bot.handled.length;
  w.hs.act(who).send(roomId, { ...text(body), ...extra });
  return bot.handledAt(before);
}

describe('matrix adapter', () => {
  it('runs a command addressed with a pill, and edits its status message in place to the final state', async () => {
    const w = await setUp();
    const bot = await w.startBot();
    expect(w.hs.membership(w.room, w.bot)).toBe('join');

    // A pill shows whatever name the sender's client shows for the bot.
    const handled = await say(w, bot, w.alice, w.room, 'Image Bot: build 2.5 kvm', {
      format: 'org.matrix.custom.html',
      formatted_body: `<a href="https://matrix.to/#/${encodeURIComponent(w.bot)}">Image Bot</a>: build 2.5 kvm`,
      'm.mentions': { user_ids: [w.bot] },
    });
    expect(handled.outcome).toBe('done');
    expect(handled.jobs).toHaveLength(1);
    const [jobId] = handled.jobs;
    await bot.core.notifier.whenSettled(handled.jobs);
    const status = notices(w, w.room).find((n) => n.body.includes(`job ${jobId}`));
    expect(status?.body).toMatch(new RegExp(`^✅ build cernvm 2\\.5 kvm · job ${jobId} · succeeded`));
    expect(status?.edits).toBeGreaterThan(0);
    // Every edit is an m.replace of the one notice, with m.new_content in HTML.
    const edits = w.hs.events(w.room).filter((e) => isEdit(e) && relation(e)?.event_id === status?.id);
    for (const e of edits) {
      expect(e.content.msgtype).toBe('m.notice');
      expect(e.content['m.new_content']).toMatchObject({
        format: 'org.matrix.custom.html',
        msgtype: 'm.notice',
      });
    }

    // HTML bodies escape what people typed.
    await say(w, bot, w.alice, w.room, '!build 2.5 "<b>kvm</b>"');
    const refused = await noticeMatching(w, w.room, /<b>kvm<\/b>/);
    expect(refused.html).toContain('&lt;b&gt;kvm&lt;/b&gt;');
    expect(refused.html).not.toContain('<b>');
  });

  it('knows people by user id only: a display name copied from alice makes mallory no one', async () => {
    const w = await setUp();
    const bot = await w.startBot();
    const mallory = w.hs.act(w.mallory);
    mallory.join(w.room);
    mallory.setDisplayName('alice');
    const handled = await say(w, bot, w.mallory, w.room, 'vmops: build 2.5 kvm');
    expect(handled).toEqual({ outcome: 'refused', jobs: [] });
    const answer = await noticeMatching(w, w.room, /guest/);
    expect(answer.body).toMatch(/you are a guest/);
    // Only what the homeserver stamped counts; the same words from alice run.
    expect((await say(w, bot, w.alice, w.room, 'vmops: images')).outcome).toBe('done');
  });

  it('never re-runs a command after a restart: resumes from the stored sync position, tells the room what it ignored as too old', async () => {
    const w = await setUp({ initialTimeline: 200 });
    const first = await w.startBot();
    const built = await say(w, first, w.alice, w.room, '!build 2.5 kvm');
    expect(built.jobs).toHaveLength(1);
    await first.core.notifier.whenSettled(built.jobs);
    await first.stop();

    const redis = connectRedis(redisUrl());
    const keys = matrixKeys(w.config.redis.prefix, w.bot);
    const stored = await redis.hget(keys.sync, 'next_batch');
    expect(stored).toMatch(/^s\d+$/);
    // While the bot is away: a command older than bot.maxMessageAge (stamped so), and chatter.
    w.hs
      .act(w.alice)
      .send(
        w.room,
        text('!build 2.6 kvm'),
        'm.room.message',
        Date.now() - w.config.bot.maxMessageAge - 60_000,
      );
    w.hs.act(w.bob).join(w.room);
    w.hs.act(w.bob).send(w.room, text('lunch?'));

    const restartedAt = Date.now();
    const second = await w.startBot();
    const firstSync = w.hs.requests.find((r) => r.at >= restartedAt && r.path.endsWith('/sync'));
    expect(firstSync?.query.get('since')).toBe(stored);
    const away = await noticeMatching(w, w.room, /^I was away/);
    expect(away.body).toBe(
      `I was away; I ignored 1 command(s) sent before I came back: "build 2.6 kvm" (${w.alice}). Send again if still needed.`,
    );
    expect(second.handled).toEqual([]);
    expect((await say(w, second, w.alice, w.room, '!jobs')).outcome).toBe('done');
    await second.stop();

    // Without a stored position the homeserver hands the room's history again: none of it runs.
    await redis.del(keys.sync);
    redis.disconnect();
    const thirdAt = Date.now();
    const third = await w.startBot();
    const initial = w.hs.requests.find((r) => r.at >= thirdAt && r.path.endsWith('/sync'));
    expect(initial?.query.get('since')).toBeNull();
    const live = await say(w, third, w.alice, w.room, '!jobs');
    expect(live.outcome).toBe('done');
    expect(third.handled).toHaveLength(1);
    expect(notices(w, w.room).filter((n) => n.body.startsWith('I was away'))).toHaveLength(1);
    const jobs = notices(w, w.room).filter((n) => /· job \w+ ·/.test(n.body));
    expect(jobs.map((n) => n.body.split(' · ')[0])).toEqual(['✅ build cernvm 2.5 kvm']);
  });

  it('carries on after a homeserver restart: a command sent while it was down runs once', async () => {
    const w = await setUp();
    const bot = await w.startBot();
    await w.hs.stop();
    // Said while the homeserver is down: the bot gets it when its sync is back.
    w.hs.act(w.alice).send(w.room, text('!build 2.7 kvm'));
    await w.hs.start();
    const handled = await bot.handledAt(0);
    expect(handled.jobs).toHaveLength(1);
    await bot.core.notifier.whenSettled(handled.jobs);
    const status = await noticeMatching(w, w.room, /build cernvm 2\.7 kvm · job \w+ · succeeded/);
    expect(status.edits).toBeGreaterThan(0);
    expect(bot.handled).toHaveLength(1);
  }, 40_000);

  it('stays under the homeserver rate limit in a burst of jobs, and every final state arrives', async () => {
    // The same homeserver limit and load as the next test, where the bot is told a laxer one.
    const w = await setUp({ rateLimit: { perSecond: 8, burst: 3 } });
    const bot = await w.startBot();
    const versions = ['3.1', '3.2', '3.3'];
    const results = [];
    for (const v of versions) results.push(await say(w, bot, w.alice, w.room, `!build ${v} kvm`));
    const jobs = results.flatMap((r) => r.jobs);
    expect(jobs).toHaveLength(versions.length);
    await bot.core.notifier.whenSettled(jobs);
    for (const [i, jobId] of jobs.entries()) {
      const status = notices(w, w.room).find((n) => n.body.includes(`job ${jobId}`));
      expect(status?.body).toMatch(
        new RegExp(`^✅ build cernvm ${versions[i]} kvm · job ${jobId} · succeeded`),
      );
    }
    expect(w.hs.rateLimited).toBe(0);
    expect(bot.core.outbox.rateLimited).toBe(0);
    expect(bot.core.outbox.pending).toBe(0);
    // More than the burst went out, so the pacing, not luck, kept it under the limit.
    expect(bot.adapter.sendStats.sent).toBeGreaterThan(3);
  }, 60_000);

  it('waits out 429s when the homeserver is stricter than configured, and still delivers every final state', async () => {
    // No burst at all on the homeserver: the bot, told a laxer limit, sends into 429s.
    const w = await setUp({
      rateLimit: { perSecond: 4, burst: 1 },
      botRate: { perSecond: 1000, burst: 1000 },
    });
    const bot = await w.startBot();
    const results = [];
    for (const v of ['4.1', '4.2', '4.3'])
      results.push(await say(w, bot, w.alice, w.room, `!build ${v} kvm`));
    const jobs = results.flatMap((r) => r.jobs);
    await bot.core.notifier.whenSettled(jobs);
    expect(w.hs.rateLimited).toBeGreaterThan(0);
    expect(bot.core.outbox.rateLimited).toBe(w.hs.rateLimited);
    for (const jobId of jobs) {
      const status = notices(w, w.room).find((n) => n.body.includes(`job ${jobId}`));
      expect(status?.body).toMatch(/· succeeded/);
    }
  }, 60_000);

  it('takes an approval from a direct chat the bot started with the approver; the revoke runs once', async () => {
    const w = await setUp();
    const bot = await w.startBot();
    const built = await say(w, bot, w.alice, w.room, '!build 2.5 kvm');
    await bot.core.notifier.whenSettled(built.jobs);
    const asked = await say(w, bot, w.alice, w.room, '!revoke 2.5 --reason "CVE-1"');
    expect(asked.jobs).toEqual([]);
    const request = await noticeMatching(w, w.room, /Request r-[a-z0-9]+\./);
    const id = /Request (r-[a-z0-9]+)\./.exec(request.body)?.[1] ?? '';
    expect(request.body).toContain('It waits for bob, who has been told directly');

    // The bot started a direct chat with bob and invited him; bob joins and reads the request.
    const invite = await w.hs.waitForEvent(
      undefined,
      (e) => e.type === 'm.room.member' && e.state_key === w.bob && e.content.membership === 'invite',
    );
    expect(invite.sender).toBe(w.bot);
    expect(invite.content.is_direct).toBe(true);
    const dm = invite.room_id;
    w.hs.act(w.bob).join(dm);
    expect(notices(w, dm).map((n) => n.body)).toEqual([expect.stringContaining(`approve ${id}`)]);

    // alice cannot approve her own request; bob can, in the direct chat, without addressing the bot.
    expect((await say(w, bot, w.alice, w.room, `!approve ${id}`)).jobs).toEqual([]);
    const approved = await say(w, bot, w.bob, dm, `approve ${id}`);
    expect(approved.jobs).toHaveLength(1);
    await noticeMatching(w, dm, new RegExp(`^✅ bob approved ${id}`));
    await bot.core.notifier.whenSettled(approved.jobs);
    await noticeMatching(w, w.room, /^✅ revoke cernvm 2\.5 · job \w+ · succeeded/);
    // A second approve runs nothing.
    expect((await say(w, bot, w.bob, dm, `approve ${id}`)).jobs).toEqual([]);
    expect(notices(w, w.room).filter((n) => /revoke cernvm 2\.5 · job/.test(n.body))).toHaveLength(1);
    // The next direct message to bob goes to the same room.
    const again = await bot.adapter.send(bot.adapter.directTarget(w.bob), {
      text: 'hello bob',
      tone: 'info',
    });
    expect(again.room).toBe(dm);
  });

  it('logs in with a password once, and keeps using that access token and device', async () => {
    const w = await setUp();
    const first = await w.startBot({ password: 'secret' });
    await say(w, first, w.alice, w.room, '!images');
    await first.stop();
    const logins = () => w.hs.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/login'));
    expect(logins().map((r) => r.status)).toEqual([200]);
    const second = await w.startBot({ password: 'secret' });
    expect((await say(w, second, w.alice, w.room, '!images')).outcome).toBe('done');
    expect(logins()).toHaveLength(1);
    // Both runs synced as the one device the login made.
    const syncUsers = new Set(w.hs.requests.filter((r) => r.path.endsWith('/sync')).map((r) => r.user));
    expect(syncUsers).toEqual(new Set([w.bot]));
    const redis = connectRedis(redisUrl());
    const session = await redis.hgetall(matrixKeys(w.config.redis.prefix, w.bot).session);
    redis.disconnect();
    expect(session.device_id).toMatch(/^D[0-9A-F]{8}$/);
    expect(w.hs.requests.filter((r) => r.path.endsWith('/account/whoami'))).toHaveLength(1);
  });

  it('refuses to start with an access token the homeserver does not know', async () => {
    const w = await setUp();
    const adapter = new MatrixAdapter({
      homeserverUrl: w.hs.url,
      userId: w.bot,
      accessToken: 'syt_unknown',
      botName: 'vmops',
      rooms: [],
      inviters: [],
      inviteRooms: [],
      minEditIntervalMs: 50,
      maxMessageLength: 8000,
      rateLimit: { perSecond: 1, burst: 1 },
      redisUrl: redisUrl(),
      prefix: w.config.redis.prefix,
      log,
      startTimeoutMs: 15_000,
    });
    await expect(adapter.start(async () => undefined)).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringContaining('M_UNKNOWN_TOKEN'),
    });
  });

  it('accepts invites from people in config only, and says plainly that it cannot read an encrypted room', async () => {
    const w = await setUp();
    const bot = await w.startBot();
    const alice = w.hs.act(w.alice);
    const secret = alice.createRoom({
      name: 'secret',
      initial_state: [
        { type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } },
      ],
    });
    alice.invite(secret, w.bot);
    const notice = await noticeMatching(w, secret, /end-to-end encrypted/);
    expect(notice.body).toBe(ENCRYPTED_NOTICE);
    expect(w.hs.membership(secret, w.bot)).toBe('join');
    alice.send(
      secret,
      { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'AwgAEn…', session_id: 's' },
      'm.room.encrypted',
    );
    // An unencrypted command afterwards is still answered once, and the notice is not repeated.
    await say(w, bot, w.alice, secret, '!images');
    expect(notices(w, secret).filter((n) => n.body === ENCRYPTED_NOTICE)).toHaveLength(1);

    const mallory = w.hs.act(w.mallory);
    const trap = mallory.createRoom({ name: 'trap' });
    mallory.invite(trap, w.bot);
    await w.hs.waitForEvent(
      trap,
      (e) => e.type === 'm.room.member' && e.state_key === w.bot && e.content.membership === 'leave',
    );
    expect(w.hs.membership(trap, w.bot)).toBe('leave');
  });
});
