// Local mode and bot mode: the bot's half (src/app/bot-core.ts) with the terminal, the web console and
// the networks in config; local mode adds an in-process worker and, without redis.url, a private
// redis-server. Wires, top to bottom: data directory → log → Redis → adapters → bot core, web console
// and worker side by side → networks → terminal; stops them in reverse order.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../config/schema.ts';
import { VmopsError } from '../errors.ts';
import { redisKeys } from '../redis/keys.ts';
import { startRedisServer } from '../redis/redis-server-process.ts';
import type { ChatAdapter } from '../types.ts';
import { WebAdapter } from '../web/web-adapter.ts';
import type { StageWorkers } from '../worker/stage-worker.ts';
import { type Basics, logLevel } from './basics.ts';
import type { BotCore } from './bot-core.ts';
import type { RunCommand } from './cli-args.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { networkAdapters } from './network-adapters.ts';
import { fulfilled, settledValue, watchSignals } from './process-life.ts';
import { startWebConsoleFromConfig } from './web-console.ts';

/**
 * The bot's code, the worker's and the terminal's: about half of the start-up's CPU. Imported
 * dynamically, so local mode loads it while its private redis-server starts (see runBot).
 */
async function loadParts(config: Config) {
  const [core, stageWorker, shell, metrics] = await Promise.all([
    import('./bot-core.ts'),
    import('../worker/stage-worker.ts'),
    import('../../adapters/shell.ts'),
    // prom-client only when the web console serves what it counts (/metrics).
    config.web.enabled ? import('../observability/metrics.ts') : undefined,
  ]);
  return {
    startBotCore: core.startBotCore,
    startStageWorkers: stageWorker.startStageWorkers,
    ShellAdapter: shell.ShellAdapter,
    VmopsMetrics: metrics?.VmopsMetrics,
  };
}

/** Waits (a bounded time) until the final states of the given jobs have been delivered. */
async function settleWithin(core: BotCore, jobs: readonly string[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    core.notifier.whenSettled(jobs),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Local mode (`npm start`) or bot mode (`npm start -- bot`), until the terminal ends or a signal stops it. */
export async function runBot(cli: RunCommand, config: Config, basics: Basics): Promise<void> {
  const { createLogger, dataDirOf, describeTarget, pino, redisTargetOf, repoRoot } = basics;
  const configuredUrl = redisTargetOf(config.redis);
  if (cli.mode === 'bot' && !configuredUrl) {
    throw new VmopsError(
      'config_invalid',
      'bot mode needs the Redis its workers use: set redis.url (or redis.sentinel, redis.cluster) in the config or VMOPS_REDIS_URL; for everything in one process, use local mode (npm start)',
    );
  }
  const dataDir = dataDirOf(config);
  const redisDir = join(dataDir, 'redis');
  const release = await lockDataDir(dataDir, join(redisDir, 'redis.pid'));
  const logFile = join(dataDir, 'vmops.log');
  if (!existsSync(logFile)) closeSync(openSync(logFile, 'a', 0o600));
  const log = createLogger({
    level: logLevel(),
    destination: pino.destination({ dest: logFile, mkdir: true, sync: false, mode: 0o600 }),
  });
  chmodSync(logFile, 0o600); // also a log made by an older vmops: it names people, rooms and commands
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  let worker: StageWorkers | undefined;
  const signals = watchSignals(() => {
    process.stderr.write('vmops: cancelling running jobs\n');
    void worker?.close({ cancelRunning: true });
  });
  const undo: (() => Promise<void> | void)[] = [release, () => log.flush()];
  const jobs: string[] = [];
  try {
    // The private redis-server starts in its own process while this one loads the bot's code (once
    // spawned: loading first would hold the spawn up, as loading does not yield to the event loop).
    const spawned = Promise.withResolvers<void>();
    const redisStarting = configuredUrl
      ? undefined
      : startRedisServer({
          dir: redisDir,
          appendOnly: true,
          // Anyone on the host can reach a loopback port: only this process gets the password.
          password: randomBytes(24).toString('base64url'),
          onSpawn: spawned.resolve,
        });
    if (redisStarting) await Promise.race([spawned.promise, redisStarting.catch(() => undefined)]);
    const [redisStart, loaded] = await Promise.allSettled([redisStarting, loadParts(config)]);
    const privateRedis = settledValue(redisStart);
    if (privateRedis) undo.push(() => privateRedis.stop());
    fulfilled(redisStart);
    const { startBotCore, startStageWorkers, ShellAdapter, VmopsMetrics } = fulfilled(loaded);
    const redisUrl = configuredUrl || (privateRedis?.url ?? '');
    log.info(
      { redis: describeTarget(redisUrl), dataDir, private: Boolean(privateRedis) },
      `starting ${cli.mode} mode`,
    );

    const shell = new ShellAdapter({
      input: process.stdin,
      output: process.stdout,
      interactive,
      as: config.networks.shell?.as ?? userInfo().username,
    });
    const networks = await networkAdapters(config, log, redisUrl);
    const web = new WebAdapter();
    const adapters = new Map<string, ChatAdapter>([
      [shell.network, shell],
      [web.network, web],
      ...networks.map((a) => [a.network, a] as const),
    ]);
    // Unique per process life: in a container the pid is often 1 and the hostname fixed, and a restarted
    // bot must not take the one before it for itself (its status-message leases, its intake entries).
    const instanceId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    // One metrics registry for this process, with its CPU, memory and event loop figures (/metrics);
    // without the web console nothing serves them, and the core counts into nothing.
    const metrics = VmopsMetrics ? new VmopsMetrics({ processMetrics: true }) : undefined;
    // The bot's half (then its web console) and local mode's worker start side by side: they share
    // only Redis, and each mostly waits on it. The notifier reads the state of every job it knows
    // once subscribed, so a job the worker settles or runs again meanwhile is not missed.
    const coreStart = startBotCore({
      config,
      redisUrl,
      adapters,
      log,
      instanceId,
      ...(metrics ? { metrics } : {}),
      auditDir: join(dataDir, 'audit'),
      onHandled: (_message, handled) => jobs.push(...handled.jobs),
    });
    const webStart = coreStart.then((core) => {
      const starting = startWebConsoleFromConfig({
        config,
        core,
        adapter: web,
        dataDir,
        log,
        fallbackPort: cli.mode === 'local',
      });
      core.sessions.startingAt(starting);
      return starting;
    });
    // Settles only if the console fails to start, which stops vmops as it would have at start (raced
    // below; handled here at once, so it is never an unhandled rejection).
    const webFailed = webStart.then(() => new Promise<never>(() => undefined));
    webFailed.catch(() => undefined);
    const workerStart =
      cli.mode === 'local'
        ? startStageWorkers({
            config,
            redisUrl,
            keys: redisKeys(config.redis.prefix),
            log,
            repoRoot,
            dataDir,
            name: instanceId,
            host: hostname(),
          })
        : undefined;
    // The first reply does not need the web console: on a pipe, local mode answers while the console
    // starts (a login link asked for meanwhile waits for it). On a terminal its address is in the
    // greeting, and in bot mode a console that cannot start stops the bot before it serves anyone.
    const consoleFirst = interactive || cli.mode === 'bot';
    const [coreStarted, webStarted, workerStarted] = await Promise.allSettled([
      coreStart,
      consoleFirst ? webStart : undefined,
      workerStart,
    ]);
    // What started is stopped on the way out (in reverse order), also when something else failed to.
    const core = settledValue(coreStarted);
    const webConsole = settledValue(webStarted);
    worker = settledValue(workerStarted);
    if (core) undo.push(() => core.close());
    undo.push(async () => (await webStart.catch(() => undefined))?.close());
    if (core) {
      // Networks stop after the final states below have been handed to them (they send what waits first).
      for (const network of networks) undo.push(() => network.stop());
      // What waits in the outbox goes out (for up to 3 s) while the networks are still up.
      undo.push(() => core.outbox.stop(3000));
      // Before the networks stop: what the intake read is finished while its answers can still be sent;
      // what the networks take in meanwhile stays in Redis for the next instance.
      undo.push(() => core.intake.stop());
      // Runs after the worker has finished its jobs: their final states reach the room before the notifier stops.
      undo.push(() => settleWithin(core, jobs, 10_000));
    }
    const stageWorkers = worker;
    if (stageWorkers) undo.push(() => stageWorkers.close());
    fulfilled(coreStarted);
    fulfilled(webStarted);
    fulfilled(workerStarted);
    if (!core) throw new Error('the bot core did not start'); // (fulfilled above threw its reason)
    for (const warning of core.redisWarnings) process.stderr.write(`vmops: warning: ${warning}\n`);
    for (const network of networks) {
      // Taken into Redis before the network is acknowledged; the intake runs the pipeline on it.
      await network.start(async (message) => {
        await core.take(message);
      });
    }
    if (stageWorkers) {
      // Jobs the last run took but never started run now; local mode waits for them like for its own.
      const { requeued, lost } = stageWorkers.recovered;
      jobs.push(...requeued);
      if (requeued.length + lost.length > 0) {
        shell.notice(
          `vmops: the last run stopped without ending its jobs. ${requeued.length > 0 ? `Run again (they had not started): ${requeued.join(', ')}. ` : ''}${lost.length > 0 ? `Ended as worker lost, their images checked against the download area: ${lost.join(', ')}.` : ''}`.trim(),
        );
      }
    }
    undo.push(() => shell.stop());

    if (interactive) {
      shell.notice(
        `vmops ${cli.mode} mode: you are ${shell.speaker}. Type help, /as <name> to switch, Ctrl-D to quit.\n` +
          `Logs go to ${join(dataDir, 'vmops.log')}.` +
          (webConsole ? `\nWeb console: ${webConsole.url} (type login for a sign-in link).` : ''),
      );
    }
    await shell.start(async (message) => {
      const started = (await core.handle(message)).jobs;
      jobs.push(...started);
      // A piped script runs like a shell script: each line's jobs end before the next line is read,
      // so `build …` then `test …` tests what was just built.
      if (!interactive && cli.wait)
        await Promise.race([core.notifier.whenSettled(started), signals.requested]);
    });
    const how = await Promise.race([shell.ended.then(() => 'end' as const), signals.requested, webFailed]);
    if (how === 'end' && !interactive && cli.wait) {
      await Promise.race([core.notifier.whenSettled(jobs), signals.requested]);
    }
    if (how === 'end' && cli.mode === 'bot' && networks.length > 0) {
      // Under a service manager stdin is /dev/null: the bot serves its networks until it is told to stop.
      log.info(
        { networks: networks.map((n) => n.network) },
        'terminal input ended; serving the networks until SIGTERM',
      );
      await signals.requested;
    }
    signals.stopping();
    if (worker && worker.running() > 0) {
      shell.notice(`vmops: waiting for ${worker.running()} running job(s) to end (Ctrl-C cancels them)`);
    }
    log.info('stopping');
  } finally {
    for (const step of undo.reverse()) await step();
  }
}
