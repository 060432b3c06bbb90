// Chaos for the durable intake (failure-modes.md #1 and #3): a real bot process (`node src/main.ts
// bot`, test/helpers/bot-process.ts) on the local Slack is stopped, gently or not, right after Slack
// had its acknowledgements for a burst of mentions; another instance (here in-process, on the same
// Redis and Slack app) starts. Every mention runs exactly once: one job per event, each started once.
//
// Protections, each of which makes a test fail when taken away:
// - adapters/slack/receiver.ts acknowledges only after core.take wrote the event to Redis: with Bolt's
//   early ack, mentions acked but still in the dead process's memory are lost;
// - src/intake/intake.ts: entries a stopped or killed instance read and did not finish are taken over
//   (its heartbeat gone: XCLAIM) by the live one, whose ingress claim takes over the dead handler's;
// - the `taken` claim written with the entry: a redelivery to the other instance is a duplicate, not a
//   second run;
// - src/outbox/shared-pace.ts (one budget per channel and workspace in Redis, for every instance):
//   with each instance pacing on its own, Slack answers a 429 during the two-instance burst (checked:
//   a per-instance budget key drew one 429 there).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SlackAdapter } from '../../adapters/slack/adapter.ts';
import type { Config } from '../../config/schema.ts';
import { type BotCore, startBotCore } from '../../src/app/bot-core.ts';
import { repoRoot } from '../../src/app/config-load.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { type StageWorkers, startStageWorkers } from '../../src/worker/stage-worker.ts';
import { type BotProcess, startBotProcess } from '../helpers/bot-process.ts';
import { startsPerJob } from '../helpers/chaos.ts';
import { testConfig } from '../helpers/engine.ts';
import { eventState } from '../helpers/event-state.ts';
import { cleanPrefix, redisUrl } from '../helpers/redis.ts';
import { type FakeMessage, FakeSlack } from '../helpers/slack-server.ts';
import { until } from '../helpers/until.ts';

const log = pino({ level: process.env.VMOPS_TEST_LOG ?? 'silent' });
const ALICE = 'U0ALICE';
const OPS = 'C0OPS';

const undo: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of undo.splice(0).reverse()) await step();
});

interface World {
  slack: FakeSlack;
  config: Config;
  redis: Redis;
  /** Starts the bot process (A) and waits until it holds a Socket Mode connection. */
  botProcess(): Promise<BotProcess>;
  /** Starts an in-process bot instance (B) on the same Redis and Slack app. */
  inProcessBot(): Promise<BotCore>;
}

async function setUp(): Promise<World> {
  // Slack's documented limits: about one post a second per channel, chat.update Tier 3.
  const slack = await new FakeSlack({
    redeliverAfterMs: 1000,
    postLimit: { perSecond: 1, burst: 1 },
    updateLimit: { perSecond: 50 / 60, burst: 3 },
  }).start();
  undo.push(() => slack.stop());
  const config = testConfig((c) => {
    const alice = c.people.alice;
    if (alice) alice.accounts.slack = ALICE;
  });
  undo.push(() => cleanPrefix(config.redis.prefix));
  const redis = new Redis(redisUrl());
  undo.push(() => redis.disconnect());
  const dataDir = mkdtempSync(join(tmpdir(), 'vmops-intake-chaos-'));
  undo.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const worker: StageWorkers = await startStageWorkers({
    config,
    redisUrl: redisUrl(),
    keys: redisKeys(config.redis.prefix),
    log,
    repoRoot,
    dataDir,
    name: 'intake-chaos-worker',
  });
  undo.push(() => worker.close({ cancelRunning: true }));
  return {
    slack,
    config,
    redis,
    async botProcess() {
      const connected = slack.openConnections().length;
      const bot = startBotProcess({
        redisUrl: redisUrl(),
        prefix: config.redis.prefix,
        slack,
        slackAccounts: { alice: ALICE },
      });
      undo.push(() => bot.stop());
      await slack.waitFor(
        () => slack.openConnections().length > connected || undefined,
        'the bot process connected',
        40_000,
      );
      return bot;
    },
    async inProcessBot() {
      const adapter = new SlackAdapter({
        token: slack.botToken,
        mode: 'socket',
        appToken: slack.appToken,
        command: '/vmops',
        apiUrl: slack.apiUrl,
        minEditIntervalMs: 1000,
        maxMessageLength: 40_000,
        postPace: { perSecond: 1, burst: 1 },
        updatePace: { perSecond: 50 / 60, burst: 3 },
        threadDetails: true,
        uploadOver: 3500,
        log,
        clientPingTimeoutMs: 2000,
      });
      const core = await startBotCore({
        config,
        redisUrl: redisUrl(),
        adapters: new Map([[adapter.network, adapter]]),
        log,
        instanceId: 'intake-chaos-b',
        sendRetryMs: 5,
      });
      undo.push(() => core.close());
      const connected = slack.openConnections().length;
      await adapter.start(async (message) => {
        await core.take(message);
      });
      undo.push(() => adapter.stop());
      await slack.waitFor(() => slack.openConnections().length > connected || undefined, 'bot B connected');
      return core;
    },
  };
}

/** Mentions `build 2.<i> kvm` for i in 1..count, `gapMs` apart; calls `midway` after half of them. */
async function burst(
  w: World,
  count: number,
  gapMs = 0,
  midway?: () => void,
): Promise<{ eventIds: string[]; envelopes: string[] }> {
  const eventIds: string[] = [];
  const envelopes: string[] = [];
  for (let i = 1; i <= count; i++) {
    const { eventId, envelope } = w.slack.mention(ALICE, OPS, `build 2.${i} kvm`);
    eventIds.push(eventId);
    envelopes.push(envelope.envelope_id);
    if (i === Math.floor(count / 2)) midway?.();
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return { eventIds, envelopes };
}

/** Waits until every event has its job and every job ended, checks each ran exactly once; returns the jobs. */
async function eachRanOnce(w: World, core: BotCore, eventIds: string[]): Promise<string[]> {
  const keys = redisKeys(w.config.redis.prefix);
  const jobsOf = async () => {
    const index = await w.redis.hgetall(keys.jobIndex);
    const byEvent = new Map<string, string[]>();
    for (const [job, claim] of Object.entries(index)) {
      const event = claim.split(' ')[1]?.replace(/^slack:/, '') ?? '';
      byEvent.set(event, [...(byEvent.get(event) ?? []), job]);
    }
    return byEvent;
  };
  await until(async () => (await jobsOf()).size >= eventIds.length, {
    what: `a job for each of ${eventIds.length} mentions`,
    timeoutMs: 60_000,
  });
  const byEvent = await jobsOf();
  expect(eventIds.map((id) => byEvent.get(id)?.length ?? 0)).toEqual(eventIds.map(() => 1));
  expect(byEvent.size).toBe(eventIds.length);
  const jobs = [...byEvent.values()].flat();
  await until(
    async () =>
      (await Promise.all(jobs.map((id) => core.jobs.get(id)))).every((v) => v?.state === 'succeeded'),
    { what: 'every job to succeed', timeoutMs: 60_000 },
  );
  const starts = await startsPerJob(core.audit);
  expect(jobs.map((id) => starts.get(id) ?? 0)).toEqual(jobs.map(() => 1));
  // Every event is remembered as handled: no later redelivery can run it again.
  const claims = await Promise.all(
    eventIds.map((eventId) =>
      eventState(
        { eventId, target: { network: 'slack', room: '', isDirect: false } },
        { redis: w.redis, keys },
      ),
    ),
  );
  expect(claims).toEqual(eventIds.map(() => 'done'));
  return jobs;
}

const latest = (m: FakeMessage) => m.versions.at(-1)?.text ?? '';

/** Status cards in the channel by job id (top-level messages naming a job). */
function cards(w: World): Map<string, FakeMessage[]> {
  const found = new Map<string, FakeMessage[]>();
  for (const m of w.slack.messagesIn(OPS)) {
    const job = / · job (\w+) · /.exec(latest(m))?.[1];
    if (!job || m.threadTs) continue;
    found.set(job, [...(found.get(job) ?? []), m]);
  }
  return found;
}

describe('a bot process stopped right after Slack had its acks for a burst', () => {
  it('on SIGTERM: the 15 acknowledged mentions each run exactly once, with the next instance', async () => {
    const w = await setUp();
    const a = await w.botProcess();
    const { eventIds, envelopes } = await burst(w, 15);
    await w.slack.waitFor(
      () => envelopes.every((id) => w.slack.acks.some((ack) => ack.envelopeId === id)) || undefined,
      'the 15 acknowledgements',
    );
    a.signal('SIGTERM');
    expect(await a.exited).toBe(0);
    const b = await w.inProcessBot();
    await eachRanOnce(w, b, eventIds);
  }, 120_000);

  it('on SIGKILL: the 15 acknowledged mentions each run exactly once, with the next instance', async () => {
    const w = await setUp();
    const a = await w.botProcess();
    const { eventIds, envelopes } = await burst(w, 15);
    await w.slack.waitFor(
      () => envelopes.every((id) => w.slack.acks.some((ack) => ack.envelopeId === id)) || undefined,
      'the 15 acknowledgements',
    );
    a.signal('SIGKILL');
    expect(await a.exited).toBeNull();
    const b = await w.inProcessBot();
    await eachRanOnce(w, b, eventIds);
  }, 120_000);

  it('two instances, one SIGKILLed during a burst of 20: all 20 run exactly once, every status card reaches its final state, no 429', async () => {
    const w = await setUp();
    const a = await w.botProcess();
    const b = await w.inProcessBot();
    const { eventIds } = await burst(w, 20, 50, () => a.signal('SIGKILL'));
    expect(await a.exited).toBeNull();
    const jobs = await eachRanOnce(w, b, eventIds);
    // Every job has one status card that reaches its final state (one the dead instance reserved and
    // never posted is posted by the live one), and Slack never had to answer 429: the two instances'
    // pacing is one, in Redis.
    await w.slack.waitFor(
      () =>
        jobs.every((id) => (cards(w).get(id) ?? []).some((m) => / · succeeded/.test(latest(m)))) || undefined,
      '20 final states',
      120_000,
    );
    for (const id of jobs) expect(cards(w).get(id)).toHaveLength(1);
    expect(w.slack.rateLimited).toBe(0);
  }, 240_000);
});
