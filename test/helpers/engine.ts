// Starts the real engine for a test: bot core (pipeline, job control, notifier) over FakeChat adapters
// and, optionally, stage workers, all on the run's Redis under a fresh prefix. `stop()` undoes it all.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Config } from '../../config/schema.ts';
import { type BotCore, startBotCore } from '../../src/bot-core.ts';
import { loadConfig, repoRoot } from '../../src/config-load.ts';
import { type StageWorkers, startStageWorkers } from '../../src/jobs/stage-worker.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { FakeChat } from './fake-chat.ts';
import { cleanPrefix, redisUrl, testPrefix } from './redis.ts';

/** The default config with its real recipes, a fresh prefix and every person also on the `fake` network. */
export function realConfig(edit?: (config: Config) => void): Config {
  const config = structuredClone(loadConfig());
  config.redis.prefix = testPrefix();
  for (const [name, person] of Object.entries(config.people)) person.accounts.fake = name;
  edit?.(config);
  return config;
}

/** The default config with a fresh prefix, every person also on the `fake` network, and fast demo steps. */
export function testConfig(edit?: (config: Config) => void): Config {
  const config = structuredClone(loadConfig());
  config.redis.prefix = testPrefix();
  for (const [name, person] of Object.entries(config.people)) person.accounts.fake = name;
  // The demo steps (three for build, one for every other stage), fast, so engine tests need no images.
  const demo = (name: string) => ({
    name,
    run: ['recipes/demo/step.sh', name],
    env: { VMOPS_DEMO_TICK: '0.01' },
  });
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
  return config;
}

export interface Engine {
  config: Config;
  chat: FakeChat;
  core: BotCore;
  worker: StageWorkers | undefined;
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
  /** Formats the worker makes (default all). */
  workerFormats?: string[];
  /** More chat networks for the first bot, next to `chat` (e.g. a second network for cross-network approvals). */
  moreChats?: FakeChat[];
  /** The bots' clock (approval expiry, on-call rota). */
  now?: () => number;
}

export async function startEngine(options: EngineOptions = {}): Promise<Engine> {
  const config = options.config ?? testConfig();
  // Without a worker, jobs must still be accepted (they stay queued for the test to look at).
  if (options.worker === false) config.jobs.refuseWithoutWorker = false;
  const url = redisUrl();
  const log = pino({ level: 'silent' });
  const dataDir = mkdtempSync(join(tmpdir(), 'vmops-test-data-'));
  const cores: BotCore[] = [];
  const addBot = async (chat = new FakeChat(), more: FakeChat[] = []) => {
    const chats = [chat, ...more];
    const core = await startBotCore({
      config,
      redisUrl: url,
      adapters: new Map(chats.map((c) => [c.network, c])),
      log,
      instanceId: `test-${cores.length}`,
      ...(options.statusLeaseMs ? { statusLeaseMs: options.statusLeaseMs } : {}),
      ...(options.now ? { now: options.now } : {}),
      sendRetryMs: 5,
      approvalSweepMs: 20,
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
  const worker =
    options.worker === false
      ? undefined
      : await startStageWorkers({
          config,
          redisUrl: url,
          keys: redisKeys(config.redis.prefix),
          log,
          repoRoot,
          dataDir,
          ...(options.workerFormats ? { formats: options.workerFormats } : {}),
          name: 'test-worker',
        });
  return {
    config,
    chat: first.chat,
    core: first.core,
    worker,
    dataDir,
    addBot,
    async stop() {
      await worker?.close({ cancelRunning: true });
      for (const core of cores) await core.close().catch(() => undefined); // some tests close a bot early
      await cleanPrefix(config.redis.prefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
