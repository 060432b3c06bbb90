// Taking commands in on Matrix never waits on sending, and loses nothing: through the real
// matrix-js-sdk against the local homeserver (test/helpers/matrix-homeserver.ts), wired as run-bot.ts
// wires it (adapter → core.take → durable intake → pipeline), with a stage worker on the run's Redis.
//
// Protections, each of which makes a test fail when taken away:
// - src/intake/ (commands handled as soon as they are taken in, the pipeline's sends not awaited):
//   without it, under the homeserver's 0.2/s limit the 20th command of a burst is queued a minute late;
// - the adapter's sync-state gate (`#prepared`, not isInitialSyncComplete()): without it a command
//   right after a failed /sync or an outage is taken as from while away;
// - the back-fill of limited timelines through /messages: without it 5 of 15 commands are never seen;
// - the pipeline's age rule on backlog: without it a young command the catch-up hands is ignored.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MatrixAdapter } from '../../adapters/matrix/adapter.ts';
import { matrixKeys } from '../../adapters/matrix/sync-store.ts';
import type { Config } from '../../config/schema.ts';
import { type BotCore, startBotCore } from '../../src/app/bot-core.ts';
import { repoRoot } from '../../src/app/config-load.ts';
import type { Taken } from '../../src/intake/intake.ts';
import type { HandledMessage } from '../../src/pipeline/handle-message.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import type { IncomingMessage } from '../../src/types.ts';
import { type StageWorkers, startStageWorkers } from '../../src/worker/stage-worker.ts';
import { startsPerJob } from '../helpers/chaos.ts';
import { matrixBotMessages } from '../helpers/chat-rigs.ts';
import { testConfig } from '../helpers/engine.ts';
import {
  type HomeserverOptions,
  type MatrixHomeserver,
  startHomeserver,
} from '../helpers/matrix-homeserver.ts';
import { cleanPrefix, redisUrl } from '../helpers/redis.ts';
import { until } from '../helpers/until.ts';

const log = pino({ level: process.env.VMOPS_TEST_LOG ?? 'silent' });

/** Synapse's default message rate limit: the bot's sends crawl, its intake must not. */
const SYNAPSE_DEFAULT = { perSecond: 0.2, burst: 10 };

interface World {
  hs: MatrixHomeserver;
  config: Config;
  alice: string;
  /** The bot's user id. */
  bot: string;
  room: string;
  core: BotCore;
  adapter: MatrixAdapter;
  handled: { message: IncomingMessage; result: HandledMessage }[];
  taken: Taken[];
  /** Stops this bot instance and starts a new one (same account, Redis and prefix); `take` replaces core.take. */
  restart(take?: TakeFn): Promise<void>;
}

type TakeFn = (core: BotCore, message: IncomingMessage) => Promise<Taken>;

const undo: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of undo.splice(0).reverse()) await step();
});

async function setUp(options: HomeserverOptions = {}, firstTake?: TakeFn): Promise<World> {
  const hs = await startHomeserver({ rateLimit: SYNAPSE_DEFAULT, ...options });
  undo.push(() => hs.stop());
  const bot = hs.register('vmops');
  const alice = hs.register('alice');
  const room = hs.act(alice).createRoom({ preset: 'public_chat', name: 'ops', room_alias_name: 'ops' });
  const config = testConfig((c) => {
    for (const [name, person] of Object.entries(c.people)) person.accounts.matrix = `@${name}:localhost`;
  });
  undo.push(() => cleanPrefix(config.redis.prefix));
  const dataDir = mkdtempSync(join(tmpdir(), 'vmops-intake-matrix-'));
  undo.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const worker: StageWorkers = await startStageWorkers({
    config,
    redisUrl: redisUrl(),
    keys: redisKeys(config.redis.prefix),
    log,
    repoRoot,
    dataDir,
    name: 'intake-matrix-worker',
  });
  undo.push(() => worker.close({ cancelRunning: true }));
  const botToken = hs.token(bot, 'VMOPSDEVICE');
  let instance = 0;
  const startBot = async (take: TakeFn = (core, message) => core.take(message)) => {
    const adapter = new MatrixAdapter({
      homeserverUrl: hs.url,
      userId: bot,
      accessToken: botToken,
      botName: config.bot.name,
      rooms: ['#ops:localhost'],
      inviters: [],
      inviteRooms: [],
      minEditIntervalMs: 1000,
      maxMessageLength: 8000,
      rateLimit: SYNAPSE_DEFAULT,
      redisUrl: redisUrl(),
      prefix: config.redis.prefix,
      log,
      pollTimeoutMs: 1000,
      startTimeoutMs: 15_000,
    });
    const handled: World['handled'] = [];
    const core = await startBotCore({
      config,
      redisUrl: redisUrl(),
      adapters: new Map([['matrix', adapter]]),
      log,
      instanceId: `intake-matrix-bot-${instance++}`,
      sendRetryMs: 5,
      onHandled: (message, result) => handled.push({ message, result }),
    });
    const taken: Taken[] = [];
    await adapter.start(async (message) => {
      taken.push(await take(core, message));
    });
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await adapter.stop();
      await core.close();
    };
    undo.push(stop);
    return { core, adapter, handled, taken, stop };
  };
  let current = await startBot(firstTake);
  const w: World = {
    hs,
    config,
    alice,
    bot,
    room,
    ...current,
    async restart(take) {
      await current.stop();
      current = await startBot(take);
      Object.assign(w, {
        core: current.core,
        adapter: current.adapter,
        handled: current.handled,
        taken: current.taken,
      });
    },
  };
  return w;
}

const text = (body: string) => ({ msgtype: 'm.text', body });

/** Waits until `count` messages are handled, then returns them. */
async function handledAll(w: World, count: number, timeoutMs = 30_000) {
  await until(() => w.handled.length >= count, {
    what: () => `${count} handled messages (have ${w.handled.length})`,
    timeoutMs,
  });
  return w.handled;
}

/** The p95 of a list of numbers. */
function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] ?? Number.NaN;
}

/** The bot's top-level messages naming a job, each with its latest body (its last edit's). */
function statusOf(w: World, jobId: string): { id: string; body: string }[] {
  return matrixBotMessages(w.hs, w.room, w.bot).filter((n) => n.body.includes(`job ${jobId}`));
}

/** The bot's notices that say it was away. */
const awayNotices = (w: World) =>
  w.hs
    .events(w.room)
    .filter((e) => e.type === 'm.room.message' && String(e.content.body).startsWith('I was away'));

describe('matrix intake', () => {
  it('queues each of 20 commands sent within a second within 1 s of it (p95) while sends crawl, runs each once, and delivers every final state with no 429', async () => {
    const w = await setUp();
    const sentAt = new Map<string, number>();
    for (let i = 1; i <= 20; i++) {
      const body = `!build 2.${i} kvm`;
      sentAt.set(body, Date.now());
      w.hs.act(w.alice).send(w.room, text(body));
    }
    const handled = await handledAll(w, 20);
    expect(handled.map((h) => h.result.outcome)).toEqual(Array(20).fill('done'));
    const jobs = handled.flatMap((h) => h.result.jobs);
    expect(new Set(jobs).size).toBe(20);
    // Command → job queued, from the moment the test sent it to the job's creation time in Redis.
    const queueMs: number[] = [];
    for (const h of handled) {
      const [jobId = ''] = h.result.jobs;
      const view = await w.core.jobs.get(jobId);
      queueMs.push((view?.createdAt ?? Number.POSITIVE_INFINITY) - (sentAt.get(h.message.text) ?? 0));
    }
    log.info({ p95: p95(queueMs), max: Math.max(...queueMs) }, 'matrix burst: command → job queued (ms)');
    expect(p95(queueMs)).toBeLessThanOrEqual(1000);
    // Meanwhile the bot's status messages wait for the homeserver's limit: queueing did not wait on them.
    expect(w.core.outbox.pending).toBeGreaterThan(0);
    await until(
      async () => {
        const views = await Promise.all(jobs.map((id) => w.core.jobs.get(id)));
        return views.every((v) => v?.state === 'succeeded');
      },
      { what: 'every job to succeed', timeoutMs: 60_000 },
    );
    expect([...(await startsPerJob(w.core.audit)).values()]).toEqual(Array(20).fill(1));
    expect(w.taken).toEqual(Array(20).fill('taken'));
    // Every job's status message reaches its final state, each posted once, and the homeserver never
    // had to answer M_LIMIT_EXCEEDED (the one outbox paces the account as Synapse counts it).
    await w.hs.waitForEvent(
      w.room,
      () => jobs.every((id) => statusOf(w, id).some((n) => / · succeeded/.test(n.body))),
      240_000,
    );
    for (const jobId of jobs) expect(statusOf(w, jobId)).toHaveLength(1);
    expect(w.hs.rateLimited).toBe(0);
    expect(awayNotices(w)).toEqual([]);
  }, 300_000);

  it('takes a failed /sync and an 8 s outage for what they are: commands sent during and right after them run', async () => {
    const w = await setUp({ rateLimit: { perSecond: 50, burst: 50 } });
    // A proxy answers one /sync with a 502: the SDK reconnects; a command sent then runs.
    w.hs.failNextSyncs(1);
    await until(() => w.hs.syncsAnswered(502) === 1, { what: 'the failed /sync' });
    w.hs.act(w.alice).send(w.room, text('!build 2.1 kvm'));
    await handledAll(w, 1);
    // The homeserver is down for 8 s (this wait is the outage itself); a command is sent during it,
    // and another right after it is back.
    await w.hs.stop();
    w.hs.act(w.alice).send(w.room, text('!build 2.2 kvm'));
    await new Promise((resolve) => setTimeout(resolve, 8000));
    await w.hs.start();
    w.hs.act(w.alice).send(w.room, text('!build 2.3 kvm'));
    const handled = await handledAll(w, 3, 40_000);
    expect(handled.map((h) => [h.message.text, h.result.outcome, h.result.jobs.length])).toEqual([
      ['!build 2.1 kvm', 'done', 1],
      ['!build 2.2 kvm', 'done', 1],
      ['!build 2.3 kvm', 'done', 1],
    ]);
    expect(w.taken).toEqual(['taken', 'taken', 'taken']);
    expect(awayNotices(w)).toEqual([]);
  }, 90_000);

  it('back-fills a limited sync: 15 commands in one sync whose timeline holds 10 all run, once', async () => {
    const w = await setUp({ rateLimit: { perSecond: 50, burst: 50 } });
    w.hs.act(w.alice).send(w.room, text('!jobs'));
    await handledAll(w, 1);
    // The bot is slow to sync for a moment; 15 commands pile up; its next sync shows the last 10.
    w.hs.holdSyncs(true);
    w.hs.setTimelineLimit(10);
    for (let i = 1; i <= 15; i++) w.hs.act(w.alice).send(w.room, text(`!build 2.${i} kvm`));
    w.hs.holdSyncs(false);
    const handled = await handledAll(w, 16);
    const builds = handled.slice(1);
    expect(builds.map((h) => h.message.text).sort()).toEqual(
      Array.from({ length: 15 }, (_, i) => `!build 2.${i + 1} kvm`).sort(),
    );
    expect(builds.every((h) => h.result.outcome === 'done' && h.result.jobs.length === 1)).toBe(true);
    expect(new Set(builds.map((h) => h.message.eventId)).size).toBe(15);
    // The homeserver did cut the timeline, and the bot asked /messages for the rest.
    expect(w.hs.requests.some((r) => r.path.endsWith('/messages') && r.status === 200)).toBe(true);
    expect(awayNotices(w)).toEqual([]);
    await until(() => w.handled.length === 16 && w.core.intake.pending === 0, { what: 'the intake idle' });
    expect(w.handled).toHaveLength(16);
  }, 60_000);

  it('keeps its sync position while it cannot take messages in; after a restart they run, once', async () => {
    let attempts = 0;
    const w = await setUp({ rateLimit: { perSecond: 50, burst: 50 } }, async () => {
      attempts += 1;
      throw new Error('Redis is not answering (simulated)');
    });
    const redis = new Redis(redisUrl());
    undo.push(() => redis.disconnect());
    const position = () =>
      redis.hget(matrixKeys(w.config.redis.prefix, '@vmops:localhost').sync, 'next_batch');
    await until(async () => (await position()) !== null, { what: 'a first sync position' });
    const before = await position();
    w.hs.act(w.alice).send(w.room, text('!build 2.6 kvm'));
    await until(() => attempts >= 1, { what: 'the command handed to the intake' });
    // Later syncs (more traffic in the room) do not move the position past the command either.
    w.hs.act(w.alice).send(w.room, text('!jobs'));
    await until(() => w.hs.requests.filter((r) => r.path.endsWith('/sync')).length > 6, {
      what: 'more syncs',
    });
    expect(await position()).toBe(before);
    expect(w.handled).toEqual([]);
    // The next instance resumes from the held position: the command is handed again, and runs.
    await w.restart();
    await handledAll(w, 2);
    expect(w.handled.map((h) => [h.message.text, h.message.backlog?.kind, h.result.outcome]).sort()).toEqual([
      ['!build 2.6 kvm', 'away', 'done'],
      ['!jobs', 'away', 'done'],
    ]);
    await until(async () => (await position()) !== before, { what: 'the position moved on' });
    expect(awayNotices(w)).toEqual([]);
  }, 60_000);
});
