// The Slack adapter through the real @slack/bolt against a local Slack (test/helpers/slack-server.ts),
// with the real pipeline, Redis and a worker: status cards within the rate limits (and 429s honoured
// when the limits are exceeded anyway), redeliveries and a second bot instance running an event once,
// approval buttons going through the same rules as typed commands, reconnects losing nothing, the
// slash command, long replies as files, failure details in the thread, and HTTP mode's signature check.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SlackAdapter, type SlackAdapterOptions } from '../../adapters/slack/adapter.ts';
import type { Config } from '../../config/schema.ts';
import { type BotCore, startBotCore } from '../../src/app/bot-core.ts';
import { repoRoot } from '../../src/app/config-load.ts';
import type { HandledMessage } from '../../src/pipeline/handle-message.ts';
import { freePort } from '../../src/redis/free-port.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import type { IncomingMessage } from '../../src/types.ts';
import { type StageWorkers, startStageWorkers } from '../../src/worker/stage-worker.ts';
import { testConfig } from '../helpers/engine.ts';
import { cleanPrefix, redisUrl } from '../helpers/redis.ts';
import { type FakeMessage, FakeSlack, postSigned, type Rate } from '../helpers/slack-server.ts';

const log = pino({ level: process.env.VMOPS_TEST_LOG ?? 'silent' });

const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const CAROL = 'U0CAROL';
const MALLORY = 'U0MALLORY';
const OPS = 'C0OPS';

const text = (m: FakeMessage) => m.versions.at(-1)?.text ?? '';

function slackConfig(edit?: (config: Config) => void): Config {
  return testConfig((c) => {
    const accounts: Record<string, string> = { alice: ALICE, bob: BOB, carol: CAROL };
    for (const [name, account] of Object.entries(accounts)) {
      const person = c.people[name];
      if (person) person.accounts.slack = account;
    }
    edit?.(c);
  });
}

interface Bot {
  adapter: SlackAdapter;
  core: BotCore;
  handled: { message: IncomingMessage; result: HandledMessage }[];
  /** Resolves with the handling of the n-th message (so far or to come) that matches. */
  handledWhere(
    predicate: (message: IncomingMessage) => boolean,
    count?: number,
  ): Promise<{ message: IncomingMessage; result: HandledMessage }[]>;
}

/** Bot instances, their worker and the fake, undone after each test. */
class Rig {
  readonly slack: FakeSlack;
  readonly config: Config;
  readonly bots: Bot[] = [];
  worker: StageWorkers | undefined;
  readonly #dataDir = mkdtempSync(join(tmpdir(), 'vmops-slack-data-'));

  constructor(slack: FakeSlack, config: Config) {
    this.slack = slack;
    this.config = config;
  }

  static async start(
    options: {
      fake?: ConstructorParameters<typeof FakeSlack>[0];
      edit?: (config: Config) => void;
      adapter?: Partial<SlackAdapterOptions>;
      worker?: boolean;
    } = {},
  ): Promise<Rig> {
    const slack = await new FakeSlack({ redeliverAfterMs: 1000, ...options.fake }).start();
    const rig = new Rig(slack, slackConfig(options.edit));
    rigs.push(rig);
    if (options.worker !== false) {
      rig.worker = await startStageWorkers({
        config: rig.config,
        redisUrl: redisUrl(),
        keys: redisKeys(rig.config.redis.prefix),
        log,
        repoRoot,
        dataDir: rig.#dataDir,
        name: `slack-test-worker-${process.pid}`,
      });
    }
    await rig.addBot(options.adapter);
    return rig;
  }

  get bot(): Bot {
    const bot = this.bots[0];
    if (!bot) throw new Error('no bot');
    return bot;
  }

  adapterOptions(overrides: Partial<SlackAdapterOptions> = {}): SlackAdapterOptions {
    const pace = (rate: Rate) => ({ perSecond: rate.perSecond, burst: rate.burst });
    return {
      token: this.slack.botToken,
      mode: 'socket',
      appToken: this.slack.appToken,
      command: '/vmops',
      apiUrl: this.slack.apiUrl,
      minEditIntervalMs: 100,
      maxMessageLength: 40_000,
      postPace: pace({ perSecond: 1, burst: 1 }),
      updatePace: pace({ perSecond: 2, burst: 3 }),
      threadDetails: true,
      uploadOver: 3500,
      log,
      clientPingTimeoutMs: 2000,
      ...overrides,
    };
  }

  async addBot(overrides: Partial<SlackAdapterOptions> = {}): Promise<Bot> {
    const adapter = new SlackAdapter(this.adapterOptions(overrides));
    const handled: Bot['handled'] = [];
    const changes = new EventEmitter();
    // As src/app/run-bot.ts wires it: the adapter hands each message to the durable intake, which runs the pipeline.
    const core = await startBotCore({
      config: this.config,
      redisUrl: redisUrl(),
      adapters: new Map([[adapter.network, adapter]]),
      log,
      instanceId: `slack-test-${process.pid}-${this.bots.length}`,
      sendRetryMs: 5,
      approvalSweepMs: 50,
      onHandled: (message, result) => {
        handled.push({ message, result });
        changes.emit('change');
      },
    });
    const bot: Bot = {
      adapter,
      core,
      handled,
      handledWhere: (predicate, count = 1) =>
        new Promise((resolve, reject) => {
          const check = () => {
            const found = handled.filter((h) => predicate(h.message));
            if (found.length < count) return;
            changes.off('change', check);
            clearTimeout(timer);
            resolve(found);
          };
          const timer = setTimeout(() => {
            changes.off('change', check);
            reject(new Error(`timed out waiting for ${count} handled message(s)`));
          }, 20_000);
          changes.on('change', check);
          check();
        }),
    };
    this.bots.push(bot);
    const connected = this.slack.openConnections().length;
    await adapter.start(async (message) => {
      await core.take(message);
    });
    if (overrides.mode !== 'http') {
      await this.slack.waitFor(
        () => this.slack.openConnections().length > connected || undefined,
        'the socket mode connection',
      );
    }
    return bot;
  }

  async stop(): Promise<void> {
    for (const bot of this.bots) await bot.adapter.stop();
    await this.worker?.close({ cancelRunning: true });
    for (const bot of this.bots) await bot.core.close();
    await this.slack.stop();
    await cleanPrefix(this.config.redis.prefix);
    rmSync(this.#dataDir, { recursive: true, force: true });
  }
}

const rigs: Rig[] = [];

afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.stop();
});

/** Status cards (messages with a Job field) in a channel, by job id. */
function statusCards(slack: FakeSlack, channel: string): Map<string, FakeMessage[]> {
  const cards = new Map<string, FakeMessage[]>();
  for (const m of slack.messagesIn(channel)) {
    const job = / · job (\w+) · /.exec(text(m))?.[1];
    if (!job || m.threadTs) continue;
    cards.set(job, [...(cards.get(job) ?? []), m]);
  }
  return cards;
}

describe('slack adapter (Socket Mode, through @slack/bolt)', () => {
  it('runs a mention as a job whose Block Kit status card reaches its final state within the limits', async () => {
    const rig = await Rig.start({
      fake: { postLimit: { perSecond: 1, burst: 1 }, updateLimit: { perSecond: 2, burst: 3 } },
    });
    const { slack } = rig;
    const { envelope } = slack.mention(ALICE, OPS, 'build 2.6 kvm');
    // The second command once the card is up: commands are handled side by side, and a card whose
    // post waited behind the other reply would show its final state at once, with no edit to see.
    await slack.waitForMessage(OPS, /build cernvm 2\.6 kvm · job \w+/, 'the card, first drawn');
    slack.mention(ALICE, OPS, 'whoami');
    const card = await slack.waitForMessage(
      OPS,
      /^✅ build cernvm 2\.6 kvm · job \w+ · succeeded/,
      'the card',
    );
    const whoami = await slack.waitForMessage(OPS, /^You are alice/, 'whoami');
    // Two posts in one channel, a second apart at least (Slack: about one a second per channel).
    expect(Math.abs((whoami.versions[0]?.at ?? 0) - (card.versions[0]?.at ?? 0))).toBeGreaterThanOrEqual(990);
    // Acknowledged, and before any work was done.
    const ack = slack.acks.find((a) => a.envelopeId === envelope.envelope_id);
    expect(ack).toBeDefined();
    // Drawn as blocks from Reply.status, with the plain text as fallback; edited in place.
    const last = card.versions.at(-1);
    const blocks = JSON.stringify(last?.blocks);
    for (const field of [
      '*State*',
      '*Format*\\nkvm',
      '*Step*\\n3/3 convert',
      '*Duration*',
      '*Asked by*\\nalice',
    ]) {
      expect(blocks).toContain(field);
    }
    expect(blocks).toContain(':white_check_mark: succeeded');
    expect(card.versions.length).toBeGreaterThan(1);
    expect(JSON.stringify(card.versions[0]?.blocks)).toMatch(/queued|running/);
    // Paced by the limits: Slack never had to say 429.
    expect(slack.rateLimited).toBe(0);
    expect(slack.calls.filter((c) => c.status !== 200 || c.error)).toEqual([]);
    expect(statusCards(slack, OPS).size).toBe(1);
    // Who the bot is was asked once, at start.
    expect(slack.calls.filter((c) => c.method === 'auth.test')).toHaveLength(1);
  }, 30_000);

  it('honours 429 Retry-After when it sends faster than Slack allows, and the final state still arrives', async () => {
    const rig = await Rig.start({
      fake: { postLimit: { perSecond: 1, burst: 1 }, updateLimit: { perSecond: 1, burst: 1 } },
      adapter: {
        postPace: { perSecond: 100, burst: 100 },
        updatePace: { perSecond: 100, burst: 100 },
        minEditIntervalMs: 20,
      },
    });
    const { slack } = rig;
    slack.mention(ALICE, OPS, 'build 2.6 kvm');
    slack.mention(ALICE, OPS, 'whoami');
    await slack.waitForMessage(OPS, /^✅ build cernvm 2\.6 kvm · job \w+ · succeeded/, 'the card', 30_000);
    await slack.waitForMessage(OPS, /^You are alice, with the roles operator/, 'whoami');
    expect(slack.rateLimited).toBeGreaterThan(0);
    // Every Retry-After was waited out before the next call of that kind.
    expect(slack.earlyRetries).toBe(0);
  }, 40_000);

  it('runs a redelivered event once, and the same event seen by a second bot instance once', async () => {
    const rig = await Rig.start();
    const { slack } = rig;
    // The ack is lost with the connection: Slack redelivers on the next one (retry_attempt 1).
    const { eventId } = slack.mention(ALICE, OPS, 'build 2.6 kvm', { loseAck: true });
    await slack.waitForMessage(OPS, /^✅ build cernvm 2\.6 kvm · job \w+ · succeeded/, 'the build');
    await slack.waitFor(() => slack.unacked === 0 || undefined, 'every envelope acked');
    const redelivered = slack.sent.filter((s) => s.envelope.payload.event_id === eventId);
    expect(redelivered.map((s) => s.envelope.retry_attempt)).toEqual([0, 1]);
    // The redelivery found the event taken in already: acknowledged, and handled once.
    const once = rig.bot.handled.filter((h) => h.message.eventId === eventId);
    expect(once.map((h) => h.result.outcome)).toEqual(['done']);

    // A second instance on the same Redis: the same event reaches both connections.
    const second = await rig.addBot();
    const payload = slack.eventPayload(slack.mentionEvent(ALICE, OPS, 'build 2.7 kvm'));
    slack.deliver('events_api', payload, { to: 0 });
    slack.deliver('events_api', payload, { to: 1, retryAttempt: 1 });
    await slack.waitForMessage(OPS, /^✅ build cernvm 2\.7 kvm · job \w+ · succeeded/, 'the second build');
    await slack.waitFor(() => slack.unacked === 0 || undefined, 'both deliveries acked');
    // Taken in once (by whichever instance wrote it first), handled once, by one of the two.
    const handledBy = [...rig.bot.handled, ...second.handled].filter(
      (h) => h.message.eventId === payload.event_id,
    );
    expect(handledBy.map((h) => h.result.outcome)).toEqual(['done']);
    const builds = [...statusCards(slack, OPS).values()].map((ms) => text(ms[0] as FakeMessage));
    expect(builds.filter((t) => t.includes('2.6 kvm'))).toHaveLength(1);
    expect(builds.filter((t) => t.includes('2.7 kvm'))).toHaveLength(1);
  }, 40_000);

  it('loses nothing over a disconnect frame or a dropped socket', async () => {
    const rig = await Rig.start({ worker: false });
    const { slack } = rig;
    // Slack asks the client to reconnect; a command sent right then waits for the new connection.
    slack.disconnect();
    const { eventId } = slack.dm(ALICE, 'whoami');
    await slack.waitForMessage(slack.dmChannel(ALICE), /^You are alice/, 'the answer after reconnecting');
    expect(slack.openConnections()).toHaveLength(1);
    expect(slack.connections.length).toBe(2);

    // The socket drops with an envelope delivered and not yet acked: redelivered, run once.
    const before = slack.connections.length;
    const { eventId: dropped } = slack.dm(CAROL, 'whoami', {});
    slack.dropConnections();
    await slack.waitForMessage(slack.dmChannel(CAROL), /^You are carol/, 'the answer after the drop');
    await slack.waitFor(() => slack.unacked === 0 || undefined, 'every envelope acked');
    expect(slack.connections.length).toBeGreaterThan(before);
    const runs = rig.bot.handled.filter((h) => h.message.eventId === dropped && h.result.outcome === 'done');
    expect(runs).toHaveLength(1);
    expect(
      slack.messagesIn(slack.dmChannel(CAROL)).filter((m) => /^You are carol/.test(text(m))),
    ).toHaveLength(1);
    expect(
      rig.bot.handled.filter((h) => h.message.eventId === eventId && h.result.outcome === 'done'),
    ).toHaveLength(1);
  }, 40_000);

  it('takes approval button clicks through the same rules as typed commands', async () => {
    const rig = await Rig.start({
      edit: (config) => {
        config.oncall.rota = ['bob'];
      },
    });
    const { slack } = rig;
    slack.mention(ALICE, OPS, 'build 2.5 kvm');
    await slack.waitForMessage(OPS, /^✅ build cernvm 2\.5 kvm · job \w+ · succeeded/, 'the build');
    slack.mention(ALICE, OPS, 'revoke 2.5 --reason "CVE-1"');
    const asked = await slack.waitForMessage(OPS, /^⏳ revoke 2\.5/, 'the request in the room');
    const id = /Request (r-[a-z2-9]+)\./.exec(text(asked))?.[1] ?? '';
    expect(id).not.toBe('');
    // bob, on call, is told directly, with the buttons too.
    const bobDm = slack.dmChannel(BOB);
    const direct = await slack.waitForMessage(bobDm, /asks for your approval: revoke 2\.5/, 'the DM');
    expect(text(direct)).toContain(`approve ${id}`);

    // A guest's click is refused for lack of the role (shown to the guest only).
    slack.click(MALLORY, asked, 'Approve');
    await slack.waitForEphemeral(
      MALLORY,
      /^approve needs the approver role: your slack account U0MALLORY/,
      'the guest refused',
    );
    // carol is known but only a viewer.
    slack.click(CAROL, asked, 'Approve');
    await slack.waitForEphemeral(
      CAROL,
      /^approve needs the approver role: you \(carol\) have the roles viewer/,
      'carol refused',
    );
    // alice, who asked, is no approver either.
    slack.click(ALICE, asked, 'Approve');
    await slack.waitForEphemeral(ALICE, /^approve needs the approver role: you \(alice\)/, 'alice refused');
    expect(slack.messagesIn(OPS).filter((m) => /needs the approver role/.test(text(m)))).toEqual([]);

    // bob's click on his DM approves; the revoke runs once and the room sees it.
    slack.click(BOB, direct, 'Approve');
    const approved = await slack.waitForMessage(bobDm, new RegExp(`^✅ bob approved ${id}`), 'the approval');
    const jobId = /runs as job (\w+)\./.exec(text(approved))?.[1] ?? '';
    await slack.waitForMessage(
      OPS,
      new RegExp(`^✅ revoke cernvm 2\\.5 · job ${jobId} · succeeded`),
      'the revoke',
    );
    // The request's buttons are gone, in the room and in bob's DM: each says how it ended.
    for (const message of [asked, direct]) {
      await slack.waitFor(
        () => (text(message).startsWith(`✅ bob approved ${id}`) ? true : undefined),
        'the request message to show the outcome',
      );
      expect(JSON.stringify(message.versions.at(-1)?.blocks ?? [])).not.toContain('Approve');
      expect(() => slack.click(BOB, message, 'Approve')).toThrow(/no button/);
    }
    // A second approve, typed, is answered as such.
    slack.dm(BOB, `approve ${id}`);
    await slack.waitForMessage(bobDm, /cannot be answered again/, 'the second approve refused');
    const revokes = [...statusCards(slack, OPS).values()].filter((ms) =>
      /revoke/.test(text(ms[0] as FakeMessage)),
    );
    expect(revokes).toHaveLength(1);
  }, 60_000);

  it('refuses self-approval by button from an approver who asked', async () => {
    const rig = await Rig.start({
      worker: false,
      edit: (config) => {
        config.oncall.rota = ['bob'];
        config.jobs.refuseWithoutWorker = false;
        config.policy.approvals.always = ['build'];
      },
    });
    const { slack } = rig;
    // bob is an operator and an approver: he asks, then clicks Approve on his own request.
    slack.mention(BOB, OPS, 'build 2.4 kvm');
    const asked = await slack.waitForMessage(OPS, /^⏳ build 2\.4 kvm/, 'the request');
    const id = /Request (r-[a-z2-9]+)\./.exec(text(asked))?.[1] ?? '';
    slack.click(BOB, asked, 'Approve');
    const refused = await slack.waitForEphemeral(
      BOB,
      new RegExp(`^you asked for ${id} yourself`),
      'self-approval',
    );
    expect(refused.text).toContain('two-person rule');
  }, 30_000);

  it('answers the slash command after acknowledging it, and sends long replies as a file in the thread', async () => {
    const rig = await Rig.start({ worker: false, adapter: { uploadOver: 400 } });
    const { slack } = rig;
    const envelope = slack.slash(ALICE, OPS, 'whoami');
    await slack.waitForMessage(OPS, /^You are alice, with the roles operator/, 'the answer');
    const sentAt = slack.sent.find((s) => s.envelope.envelope_id === envelope.envelope_id);
    expect(sentAt).toBeDefined();
    expect(slack.acks.some((a) => a.envelopeId === envelope.envelope_id)).toBe(true);

    slack.slash(ALICE, OPS, 'help');
    const short = await slack.waitForMessage(
      OPS,
      /the whole text is attached in the thread/,
      'the short help',
    );
    const file = await slack.waitFor(
      () => slack.messagesIn(OPS).find((m) => m.threadTs === short.ts && m.files.length > 0),
      'the file',
    );
    expect(file.files[0]?.content).toContain('build');
    expect(file.files[0]?.content.length).toBeGreaterThan(400);
  }, 30_000);

  it('posts a failed job’s details in its status message’s thread', async () => {
    const rig = await Rig.start({
      edit: (config) => {
        const steps = config.products.cernvm?.stages.build?.steps;
        const assemble = steps?.find((s) => s.name === 'assemble');
        if (assemble) assemble.env = { ...assemble.env, VMOPS_DEMO_FAIL: 'assemble' };
      },
    });
    const { slack } = rig;
    slack.mention(ALICE, OPS, 'build 2.6 kvm');
    const card = await slack.waitForMessage(
      OPS,
      /^❌ build cernvm 2\.6 kvm · job \w+ · failed/,
      'the failure',
    );
    const jobId = / · job (\w+) · /.exec(text(card))?.[1] ?? '';
    const details = await slack.waitFor(
      () => slack.messagesIn(OPS).find((m) => m.threadTs === card.ts),
      'the details in the thread',
    );
    // The end of the log, from the notifier, as a thread reply (never a second card).
    expect(text(details)).toMatch(new RegExp(`^The last \\d+ lines of the log of ${jobId}`));
    expect(text(details)).toContain('failing on purpose');
    expect(slack.messagesIn(OPS).filter((m) => m.threadTs === card.ts)).toHaveLength(1);
  }, 30_000);
});

describe('slack adapter (HTTP events mode)', () => {
  it('rejects a request with a bad or stale signature (401) and handles a signed one', async () => {
    const port = await freePort();
    const secret = 'signing-secret-for-tests';
    const rig = await Rig.start({
      worker: false,
      adapter: {
        mode: 'http',
        signingSecret: secret,
        http: { port, host: '127.0.0.1', path: '/slack/events' },
      },
    });
    const { slack } = rig;
    const url = `http://127.0.0.1:${port}/slack/events`;
    const body = JSON.stringify(slack.eventPayload(slack.mentionEvent(ALICE, OPS, 'whoami')));
    const forged = await postSigned(url, 'not-the-secret', body);
    expect(forged.status).toBe(401);
    const stale = await postSigned(url, secret, body, { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(stale.status).toBe(401);
    expect(rig.bot.handled).toHaveLength(0);
    const good = await postSigned(url, secret, body);
    expect(good.status).toBe(200);
    await slack.waitForMessage(OPS, /^You are alice, with the roles operator/, 'the answer');
    // The same event again (a retry) runs once.
    const again = await postSigned(url, secret, body);
    expect(again.status).toBe(200);
    // Taken in once: the retry is answered 200 and never handled again.
    await rig.bot.handledWhere(() => true, 1);
    expect(rig.bot.handled.map((h) => h.result.outcome)).toEqual(['done']);
    expect(slack.messagesIn(OPS).filter((m) => /^You are alice/.test(text(m)))).toHaveLength(1);
  }, 30_000);
});
