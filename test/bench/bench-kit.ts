// What the benchmarks share (not a benchmark itself: run-all.ts runs only *.bench.ts): a private
// redis-server, the bot core set up for benchmarking, a silent chat network, commands from alice, and
// small helpers for timing and printing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import type { Config } from '../../config/schema.ts';
import { type BotCore, startBotCore } from '../../src/bot-core.ts';
import { loadConfig } from '../../src/config-load.ts';
import { type RedisServerHandle, startRedisServer } from '../../src/redis/redis-server-process.ts';
import type { ChatAdapter, IncomingMessage } from '../../src/types.ts';

/** The p-th percentile (0–100) of some numbers, nearest rank; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Waits until `performance.now()` reaches `at` (returns at once when it has). */
export async function sleepUntil(at: number): Promise<void> {
  const wait = at - performance.now();
  if (wait > 0) await sleep(wait);
}

/** Milliseconds with one decimal, right-aligned for tables. */
export function ms(value: number, width = 8): string {
  return `${value.toFixed(1)} ms`.padStart(width + 3);
}

/** A redis-server of the benchmark's own, in a temp dir, without AOF; `stop()` ends it and removes the dir. */
export async function privateRedis(): Promise<RedisServerHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'vmops-bench-'));
  try {
    const server = await startRedisServer({ dir, appendOnly: false });
    return {
      ...server,
      async stop() {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A chat network that takes every send and edit and keeps nothing. */
export const silentChat: ChatAdapter = {
  network: 'bench',
  limits: { canEdit: true, minEditIntervalMs: 60_000, maxMessageLength: 4000 },
  start: async () => undefined,
  stop: async () => undefined,
  send: async (target) => ({ network: 'bench', room: target.room, id: 'x' }),
  edit: async () => undefined,
  directTarget: (account) => ({ network: 'bench', room: account, isDirect: true }),
};

/**
 * The bot core on `server` under the prefix `bench`, with the default config; alice is an operator on
 * every adapter's network, jobs are queued without a worker heartbeat (nothing runs them, or the bench
 * runs them itself) and the throttle lets one person send every command (its check still runs). Every
 * adapter is started, delivering to the core.
 */
export async function benchCore(
  server: { url: string },
  adapters: ChatAdapter[],
  extra: Pick<
    Parameters<typeof startBotCore>[0],
    'onHandled' | 'intake' | 'approvalSweepMs'
  > = {},
): Promise<{ config: Config; core: BotCore }> {
  const config = structuredClone(loadConfig());
  config.redis.prefix = 'bench';
  config.people.alice = {
    roles: ['operator'],
    accounts: Object.fromEntries(adapters.map((a) => [a.network, 'alice'])),
  };
  config.jobs.refuseWithoutWorker = false;
  config.bot.throttle.commands = 1_000_000;
  const core = await startBotCore({
    config,
    redisUrl: server.url,
    adapters: new Map(adapters.map((a) => [a.network, a])),
    log: pino({ level: 'silent' }),
    instanceId: 'bench',
    ...extra,
  });
  for (const adapter of adapters) {
    await adapter.start(async (message) => {
      await core.handle(message);
    });
  }
  return { config, core };
}

/** `text` from alice in a direct room, as an adapter would deliver it. */
export function fromAlice(
  text: string,
  { eventId, room, network = 'bench' }: { eventId: string; room: string; network?: string },
): IncomingMessage {
  return {
    eventId,
    sender: { id: 'alice', displayName: 'alice', isBot: false, isSelf: false },
    target: { network, room, isDirect: true },
    text,
    mentioned: false,
    sentAt: Date.now(),
  };
}

/** A version of its own for command `i` (2.0.0, 2.0.1, …): one image takes one job at a time, so the same build twice would be refused. */
export const versionFor = (i: number) => `2.${Math.floor(i / 1000)}.${i % 1000}`;
