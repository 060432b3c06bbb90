// Bot instances on the local Slack and Matrix fakes, through the real SDKs, with the real bot core,
// a stage worker and Redis: the set-up the outbox's tests and the burst benchmark share. Each rig
// records every command a bot handled (and when), and undoes everything in stop().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { MatrixAdapter } from '../../adapters/matrix/adapter.ts';
import { SlackAdapter, type SlackAdapterOptions } from '../../adapters/slack/adapter.ts';
import type { Config } from '../../config/schema.ts';
import { type BotCore, startBotCore } from '../../src/app/bot-core.ts';
import { repoRoot } from '../../src/app/config-load.ts';
import type { HandledMessage } from '../../src/pipeline/handle-message.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import type { ChatAdapter, IncomingMessage, SendRate } from '../../src/types.ts';
import { type StageWorkers, startStageWorkers } from '../../src/worker/stage-worker.ts';
import { testConfig } from './engine.ts';
import { type HomeserverOptions, type MatrixHomeserver, startHomeserver } from './matrix-homeserver.ts';
import { cleanPrefix, redisUrl } from './redis.ts';
import { FakeSlack, type FakeSlackOptions } from './slack-server.ts';

const defaultLog = pino({ level: process.env.VMOPS_TEST_LOG ?? 'silent' });

/** One command a bot handled: what came in, what the pipeline made of it, and when it was done. */
export interface Handled {
  message: IncomingMessage;
  result: HandledMessage;
  at: number;
}

export interface RigBot<A extends ChatAdapter> {
  adapter: A;
  core: BotCore;
  handled: Handled[];
  /** Stops the adapter and the core (idempotent). */
  stop(): Promise<void>;
}

/** Everything a rig starts besides the bots. */
class RigBase<A extends ChatAdapter> {
  readonly config: Config;
  readonly log: Logger;
  readonly bots: RigBot<A>[] = [];
  worker: StageWorkers | undefined;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'vmops-rig-'));

  constructor(config: Config, log: Logger) {
    this.config = config;
    this.log = log;
    // Bursts of commands from one person are what these rigs are for.
    config.bot.throttle.commands = 1000;
  }

  /** Every command handled by any bot, in the order they finished. */
  handled(): Handled[] {
    return this.bots.flatMap((b) => b.handled).sort((a, b) => a.at - b.at);
  }

  async startWorker(concurrency?: number): Promise<void> {
    if (concurrency !== undefined) this.config.jobs.concurrency = concurrency;
    this.worker = await startStageWorkers({
      config: this.config,
      redisUrl: redisUrl(),
      keys: redisKeys(this.config.redis.prefix),
      log: this.log,
      repoRoot,
      dataDir: this.dataDir,
      name: `rig-worker-${process.pid}`,
    });
  }

  async addCore(adapter: A, instance: string): Promise<RigBot<A>> {
    const core = await startBotCore({
      config: this.config,
      redisUrl: redisUrl(),
      adapters: new Map([[adapter.network, adapter]]),
      log: this.log,
      instanceId: `${instance}-${process.pid}-${this.bots.length}`,
      sendRetryMs: 20,
      approvalSweepMs: 50,
      statusLeaseMs: 1500,
    });
    const handled: Handled[] = [];
    let stopped = false;
    const bot: RigBot<A> = {
      adapter,
      core,
      handled,
      async stop() {
        if (stopped) return;
        stopped = true;
        await adapter.stop();
        await core.close();
      },
    };
    this.bots.push(bot);
    await adapter.start(async (message) => {
      const result = await core.handle(message);
      handled.push({ message, result, at: Date.now() });
    });
    return bot;
  }

  async stopAll(): Promise<void> {
    for (const bot of this.bots) await bot.stop().catch(() => undefined);
    await this.worker?.close({ cancelRunning: true });
    await cleanPrefix(this.config.redis.prefix);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export const SLACK_USERS = { alice: 'U0ALICE', bob: 'U0BOB', carol: 'U0CAROL' } as const;
export const SLACK_CHANNEL = 'C0OPS';

export class SlackRig extends RigBase<SlackAdapter> {
  readonly slack: FakeSlack;

  constructor(slack: FakeSlack, config: Config, log: Logger) {
    super(config, log);
    this.slack = slack;
  }

  /** A fake Slack at Slack's documented limits (unless told others), a worker, and one bot. */
  static async start(
    options: { fake?: FakeSlackOptions; worker?: boolean; concurrency?: number; log?: Logger } = {},
  ): Promise<SlackRig> {
    const slack = await new FakeSlack({
      postLimit: { perSecond: 1, burst: 1 },
      updateLimit: { perSecond: 50 / 60, burst: 3 },
      ...options.fake,
    }).start();
    const config = testConfig((c) => {
      for (const [name, account] of Object.entries(SLACK_USERS)) {
        const person = c.people[name];
        if (person) person.accounts.slack = account;
      }
    });
    const rig = new SlackRig(slack, config, options.log ?? defaultLog);
    if (options.worker !== false) await rig.startWorker(options.concurrency);
    return rig;
  }

  /** A bot instance on the fake, paced at the given rates (default: Slack's documented ones). */
  async addBot(
    rates: { post?: SendRate; update?: SendRate } = {},
    overrides: Partial<SlackAdapterOptions> = {},
  ): Promise<RigBot<SlackAdapter>> {
    const connected = this.slack.openConnections().length;
    const adapter = new SlackAdapter({
      token: this.slack.botToken,
      mode: 'socket',
      appToken: this.slack.appToken,
      command: '/vmops',
      apiUrl: this.slack.apiUrl,
      minEditIntervalMs: 1000,
      maxMessageLength: 40_000,
      postPace: rates.post ?? { perSecond: 1, burst: 1 },
      updatePace: rates.update ?? { perSecond: 50 / 60, burst: 3 },
      threadDetails: true,
      uploadOver: 3500,
      log: this.log.child({ adapter: 'slack' }),
      clientPingTimeoutMs: 5000,
      ...overrides,
    });
    const bot = await this.addCore(adapter, 'slack-rig');
    await this.slack.waitFor(
      () => this.slack.openConnections().length > connected || undefined,
      'the socket mode connection',
    );
    return bot;
  }

  async stop(): Promise<void> {
    await this.stopAll();
    await this.slack.stop();
  }
}

export class MatrixRig extends RigBase<MatrixAdapter> {
  readonly hs: MatrixHomeserver;
  readonly botUser: string;
  readonly botToken: string;
  readonly alice: string;
  readonly room: string;

  constructor(hs: MatrixHomeserver, config: Config, log: Logger) {
    super(config, log);
    this.hs = hs;
    this.botUser = hs.register('vmops');
    this.botToken = hs.token(this.botUser, 'VMOPSDEVICE');
    this.alice = hs.register('alice');
    this.room = hs.act(this.alice).createRoom({ preset: 'public_chat', name: 'ops', room_alias_name: 'ops' });
  }

  /** A local homeserver at Synapse's default limit (unless told another), a worker, and no bot yet. */
  static async start(
    options: { hs?: HomeserverOptions; worker?: boolean; concurrency?: number; log?: Logger } = {},
  ): Promise<MatrixRig> {
    const hs = await startHomeserver(options.hs ?? {});
    const config = testConfig((c) => {
      for (const [name, person] of Object.entries(c.people)) person.accounts.matrix = `@${name}:localhost`;
    });
    const rig = new MatrixRig(hs, config, options.log ?? defaultLog);
    if (options.worker !== false) await rig.startWorker(options.concurrency);
    return rig;
  }

  /** A bot instance paced at the given rate (default: Synapse's, 0.2/s with a burst of 10). */
  async addBot(rate: SendRate = { perSecond: 0.2, burst: 10 }): Promise<RigBot<MatrixAdapter>> {
    const adapter = new MatrixAdapter({
      homeserverUrl: this.hs.url,
      userId: this.botUser,
      accessToken: this.botToken,
      botName: this.config.bot.name,
      rooms: ['#ops:localhost'],
      inviters: [],
      inviteRooms: [],
      minEditIntervalMs: 3000,
      maxMessageLength: 8000,
      rateLimit: rate,
      redisUrl: redisUrl(),
      prefix: this.config.redis.prefix,
      log: this.log.child({ adapter: 'matrix' }),
      pollTimeoutMs: 1000,
      startTimeoutMs: 15_000,
    });
    return this.addCore(adapter, 'matrix-rig');
  }

  /** The bot's top-level messages in the room (not edits), each with its latest body and edit count. */
  notices(): { id: string; body: string; html: string; edits: number }[] {
    return matrixBotMessages(this.hs, this.room, this.botUser);
  }

  async stop(): Promise<void> {
    await this.stopAll();
    await this.hs.stop();
  }
}

/** A Matrix bot's top-level messages in a room (not edits), each with its latest body (its last edit's) and edit count. */
export function matrixBotMessages(
  hs: MatrixHomeserver,
  room: string,
  botUser: string,
): { id: string; body: string; html: string; edits: number }[] {
  const events = hs.events(room).filter((e) => e.sender === botUser && e.type === 'm.room.message');
  const relation = (e: (typeof events)[number]) =>
    e.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined;
  const isEdit = (e: (typeof events)[number]) => relation(e)?.rel_type === 'm.replace';
  return events
    .filter((e) => !isEdit(e))
    .map((e) => {
      const edits = events.filter((x) => isEdit(x) && relation(x)?.event_id === e.event_id);
      const latest =
        (edits.at(-1)?.content['m.new_content'] as Record<string, unknown> | undefined) ?? e.content;
      return {
        id: e.event_id,
        body: String(latest.body),
        html: String(latest.formatted_body),
        edits: edits.length,
      };
    });
}
