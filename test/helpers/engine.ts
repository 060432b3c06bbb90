// Starts the real engine for a test: bot core (pipeline, job control, notifier) over FakeChat adapters
// and, optionally, stage workers, all on the run's Redis under a fresh prefix. `stop()` undoes it all.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Config } from '../../config/schema.ts';
import { type BotCore, startBotCore } from '../../src/app/bot-core.ts';
import { loadConfig, repoRoot } from '../../src/app/config-load.ts';
import type { RedisTarget } from '../../src/redis/connect.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import type { ChatAdapter } from '../../src/types.ts';
import { type StageWorkers, startStageWorkers } from '../../src/worker/stage-worker.ts';
import { useDemoRecipe } from './demo-config.ts';
import { FakeChat, message } from './fake-chat.ts';
import { cleanPrefix, redisUrl, testPrefix } from './redis.ts';

/**
 * The default config with recipes that make real files (every product runs the `demo` stand-in recipe:
 * ext4 + qemu-img, tested by inspection, no packages, no boot), a fresh prefix and every person also
 * on the `fake` network.
 */
export function realConfig(edit?: (config: Config) => void): Config {
  const config = useDemoRecipe(structuredClone(loadConfig()));
  config.redis.prefix = testPrefix();
  for (const [name, person] of Object.entries(config.people)) person.accounts.fake = name;
  config.bot.throttle.commands = 100_000; // tests drive many commands as one person; the throttle test sets its own
  edit?.(config);
  return config;
}

/**
 * A rota whose first person is on call now, for a year: shifts of 52 weeks counted from a week ago.
 * (Starting it today would put the start after the latest hand-over on the hand-over day, before its
 * time, and the rota's previous person would be on call.)
 */
export function onCallNow(config: Config, rota: string[]): void {
  config.oncall.rota = rota;
  config.oncall.weeks = 52;
  config.oncall.start = new Date(Date.now() - 7 * 24 * 3600_000).toISOString().slice(0, 10);
}

/** realConfig with fast demo steps (three for build, one for every other stage), so engine tests need no images. */
export function testConfig(edit?: (config: Config) => void): Config {
  const demo = (name: string) => ({
    name,
    run: ['recipes/demo/step.sh', name],
    env: { VMOPS_DEMO_TICK: '0.01' },
  });
  return realConfig((config) => {
    for (const product of Object.values(config.products)) {
      product.stages = {
        build: { steps: [demo('prepare'), demo('assemble'), demo('convert')] },
        test: { steps: [demo('check')] },
        publish: { steps: [demo('publish')] },
        deploy: { steps: [demo('deploy')] },
        update: { steps: [demo('update')] },
        revoke: { steps: [demo('revoke')] },
      };
    }
    edit?.(config);
  });
}

export interface Engine {
  config: Config;
  chat: FakeChat;
  core: BotCore;
  worker: StageWorkers | undefined;
  /** Every stage worker started (`workers` of them). */
  workers: StageWorkers[];
  dataDir: string;
  /** Another bot instance on the same Redis and prefix, with its own FakeChat or a shared one. */
  addBot(chat?: FakeChat): Promise<{ chat: FakeChat; core: BotCore }>;
  stop(): Promise<void>;
}

export interface EngineOptions {
  config?: Config;
  /** Start stage workers (default yes). */
  worker?: boolean;
  /** The first bot's chat (default a new FakeChat). */
  chat?: FakeChat;
  /** Status message writer lease (ms), short in takeover tests. */
  statusLeaseMs?: number;
  /** Settled jobs each notifier remembers (the bot's default is 10,000). */
  settledKept?: number;
  /** Formats the worker makes (default all). */
  workerFormats?: string[];
  /** More chat networks for the first bot, next to `chat` (e.g. a second network for cross-network approvals, the web console's). */
  moreChats?: ChatAdapter[];
  /** The bots' clock (approval expiry, on-call rota). */
  now?: () => number;
  /** Another Redis than the run's (a Sentinel set-up, a Cluster); its keys are not cleaned up. */
  redis?: RedisTarget;
  /** How many stage worker processes' worth of workers (default 1), named test-worker, test-worker-2, … */
  workers?: number;
}

export async function startEngine(options: EngineOptions = {}): Promise<Engine> {
  const config = options.config ?? testConfig();
  // Without a worker, jobs must still be accepted (they stay queued for the test to look at).
  if (options.worker === false) config.jobs.refuseWithoutWorker = false;
  const url = options.redis ?? redisUrl();
  const log = pino({ level: 'silent' });
  const dataDir = mkdtempSync(join(tmpdir(), 'vmops-test-data-'));
  const cores: BotCore[] = [];
  const addBot = async (chat = new FakeChat(), more: ChatAdapter[] = []) => {
    const chats: ChatAdapter[] = [chat, ...more];
    const core = await startBotCore({
      config,
      redisUrl: url,
      adapters: new Map(chats.map((c) => [c.network, c])),
      log,
      instanceId: `test-${cores.length}`,
      ...(options.statusLeaseMs ? { statusLeaseMs: options.statusLeaseMs } : {}),
      ...(options.settledKept ? { settledKept: options.settledKept } : {}),
      ...(options.now ? { now: options.now } : {}),
      sendRetryMs: 5,
      approvalSweepMs: 20,
      auditDir: join(dataDir, 'audit'),
    });
    cores.push(core);
    for (const c of chats) {
      await c.start(async (m) => {
        await core.handle(m);
      });
    }
    return { chat, core };
  };
  const first = await addBot(options.chat, options.moreChats);
  const workers: StageWorkers[] = [];
  for (let i = 1; options.worker !== false && i <= (options.workers ?? 1); i++) {
    workers.push(
      await startStageWorkers({
        config,
        redisUrl: url,
        keys: redisKeys(config.redis.prefix),
        log,
        repoRoot,
        dataDir,
        ...(options.workerFormats ? { formats: options.workerFormats } : {}),
        name: i === 1 ? 'test-worker' : `test-worker-${i}`,
      }),
    );
  }
  const worker = workers[0];
  return {
    config,
    chat: first.chat,
    core: first.core,
    worker,
    workers,
    dataDir,
    addBot,
    async stop() {
      for (const w of workers) await w.close({ cancelRunning: true });
      for (const core of cores) await core.close().catch(() => undefined); // some tests close a bot early
      if (options.redis === undefined) await cleanPrefix(config.redis.prefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Types a command into an engine's chat as `account` (alice by default), waits for the jobs it
 * started to end, and returns them with every message sent since, as each last reads.
 */
export async function sayAndWait(
  engine: Engine | undefined,
  text: string,
  account = 'alice',
): Promise<{ jobs: string[]; reply: string }> {
  if (!engine) throw new Error('no engine');
  const before = engine.chat.sent.length;
  const { jobs } = await engine.core.handle(message(text, { account }));
  await engine.core.notifier.whenSettled(jobs);
  const reply = engine.chat.sent
    .slice(before)
    .map((m) => m.versions.at(-1)?.text ?? '')
    .join('\n');
  return { jobs, reply };
}
