// Taking commands in on Slack never waits on sending, and an event is acknowledged only once it is in
// Redis: through the real @slack/bolt (Socket Mode) against the local Slack (test/helpers/slack-server.ts),
// wired as src/app/run-bot.ts wires it (adapter → core.take → durable intake → pipeline), with a stage worker.
//
// Protections, each of which makes a test fail when taken away:
// - src/intake/ handling entries side by side without awaiting the pipeline's sends: without it the
//   30th mention of a burst waits for 29 posts paced at one a second per channel;
// - adapters/slack/receiver.ts ackAfterHandOver: with Bolt's own early ack, an event whose hand-over
//   failed is acknowledged anyway and Slack never delivers it again (the command is lost).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SlackAdapter } from '../../adapters/slack/adapter.ts';
import type { Config } from '../../config/schema.ts';
import { type BotCore, startBotCore } from '../../src/app/bot-core.ts';
import { repoRoot } from '../../src/app/config-load.ts';
import type { HandledMessage } from '../../src/pipeline/handle-message.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import type { IncomingMessage } from '../../src/types.ts';
import { type StageWorkers, startStageWorkers } from '../../src/worker/stage-worker.ts';
import { startsPerJob } from '../helpers/chaos.ts';
import { testConfig } from '../helpers/engine.ts';
import { cleanPrefix, redisUrl } from '../helpers/redis.ts';
import { type FakeMessage, FakeSlack } from '../helpers/slack-server.ts';
import { until } from '../helpers/until.ts';

const log = pino({ level: process.env.VMOPS_TEST_LOG ?? 'silent' });
const ALICE = 'U0ALICE';
const OPS = 'C0OPS';

interface World {
  slack: FakeSlack;
  config: Config;
  core: BotCore;
  adapter: SlackAdapter;
  handled: { message: IncomingMessage; result: HandledMessage }[];
}

const undo: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of undo.splice(0).reverse()) await step();
});

async function setUp(take?: (core: BotCore, message: IncomingMessage) => Promise<unknown>): Promise<World> {
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
  const dataDir = mkdtempSync(join(tmpdir(), 'vmops-intake-slack-'));
  undo.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const worker: StageWorkers = await startStageWorkers({
    config,
    redisUrl: redisUrl(),
    keys: redisKeys(config.redis.prefix),
    log,
    repoRoot,
    dataDir,
    name: 'intake-slack-worker',
  });
  undo.push(() => worker.close({ cancelRunning: true }));
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
  const handled: World['handled'] = [];
  const core = await startBotCore({
    config,
    redisUrl: redisUrl(),
    adapters: new Map([[adapter.network, adapter]]),
    log,
    instanceId: 'intake-slack-bot',
    sendRetryMs: 5,
    onHandled: (message, result) => handled.push({ message, result }),
  });
  undo.push(() => core.close());
  await adapter.start(async (message) => {
    await (take ? take(core, message) : core.take(message));
  });
  undo.push(() => adapter.stop());
  await slack.waitFor(() => slack.openConnections().length > 0 || undefined, 'the socket mode connection');
  return { slack, config, core, adapter, handled };
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

function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] ?? Number.NaN;
}

describe('slack intake', () => {
  it('queues each of 30 mentions sent within a second into one channel within 1 s of it (p95), runs each once, and delivers every final state with no 429', async () => {
    const w = await setUp();
    const sentAt = new Map<string, number>();
    for (let i = 1; i <= 30; i++) {
      const at = Date.now();
      const { eventId } = w.slack.mention(ALICE, OPS, `build 2.${i} kvm`);
      sentAt.set(eventId, at);
    }
    await until(() => w.handled.length >= 30, {
      what: () => `30 handled mentions (have ${w.handled.length})`,
      timeoutMs: 30_000,
    });
    expect(w.handled.map((h) => h.result.outcome)).toEqual(Array(30).fill('done'));
    const jobs = w.handled.flatMap((h) => h.result.jobs);
    expect(new Set(jobs).size).toBe(30);
    const queueMs: number[] = [];
    for (const h of w.handled) {
      const view = await w.core.jobs.get(h.result.jobs[0] ?? '');
      queueMs.push((view?.createdAt ?? Number.POSITIVE_INFINITY) - (sentAt.get(h.message.eventId) ?? 0));
    }
    log.info({ p95: p95(queueMs), max: Math.max(...queueMs) }, 'slack burst: command → job queued (ms)');
    expect(p95(queueMs)).toBeLessThanOrEqual(1000);
    // Every envelope acknowledged, none delivered twice.
    await w.slack.waitFor(() => w.slack.unacked === 0 || undefined, 'every envelope acked');
    expect(w.slack.sent.filter((s) => (s.envelope.retry_attempt ?? 0) > 0)).toEqual([]);
    await until(
      async () =>
        (await Promise.all(jobs.map((id) => w.core.jobs.get(id)))).every((v) => v?.state === 'succeeded'),
      { what: 'every job to succeed', timeoutMs: 60_000 },
    );
    expect([...(await startsPerJob(w.core.audit)).values()]).toEqual(Array(30).fill(1));
    // Every job's status card reaches its final state, each posted once, and Slack never had to answer
    // 429 (the one outbox paces posts per channel and updates per workspace as Slack counts them).
    await w.slack.waitFor(
      () =>
        jobs.every((id) => (cards(w).get(id) ?? []).some((m) => / · succeeded/.test(latest(m)))) || undefined,
      '30 final states',
      240_000,
    );
    const all = cards(w);
    expect(all.size).toBe(30);
    for (const ms of all.values()) expect(ms).toHaveLength(1); // one card per job, never posted twice
    expect(w.slack.rateLimited).toBe(0);
    expect(w.slack.earlyRetries).toBe(0);
    expect(w.slack.calls.filter((c) => c.status !== 200 || c.error)).toEqual([]);
    expect(w.slack.messagesIn(OPS).filter((m) => /I was away/.test(m.versions[0]?.text ?? ''))).toEqual([]);
  }, 300_000);

  it('does not acknowledge an event it could not take in: Slack delivers it again, and it runs once', async () => {
    let failures = 0;
    const w = await setUp(async (core, message) => {
      if (failures === 0) {
        failures += 1;
        throw new Error('Redis is not answering (simulated)');
      }
      return core.take(message);
    });
    const { eventId, envelope } = w.slack.mention(ALICE, OPS, 'build 2.6 kvm');
    await until(() => w.handled.length >= 1, { what: 'the mention handled', timeoutMs: 20_000 });
    const deliveries = w.slack.sent.filter((s) => s.envelope.envelope_id === envelope.envelope_id);
    expect(deliveries.map((s) => s.envelope.retry_attempt ?? 0)).toEqual([0, 1]);
    expect(w.handled.map((h) => [h.message.eventId, h.result.outcome])).toEqual([[eventId, 'done']]);
    await w.slack.waitFor(() => w.slack.unacked === 0 || undefined, 'the redelivery acked');
    expect(w.slack.acks.filter((a) => a.envelopeId === envelope.envelope_id)).toHaveLength(1);
  }, 30_000);
});
