// vmops entry point and the one place that knows every part. Wires, top to bottom: config → logger →
// Redis → queues and job control → notifier → pipeline → adapters, plus the worker in local mode.
//   npm start                      local mode: terminal chat, in-process worker, private Redis
//   npm start -- worker            a worker for the Redis in config
//   npm run vmops -- config check FILE
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { ShellAdapter } from '../adapters/shell.ts';
import type { Config } from '../config/schema.ts';
import { startBotCore } from './bot-core.ts';
import { parseCli, type RunCommand, USAGE } from './cli-args.ts';
import { defaultConfigPath, loadConfig, repoRoot } from './config-load.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { asVmopsError, VmopsError } from './errors.ts';
import { startStageWorkers } from './jobs/stage-worker.ts';
import { createLogger, redactUrl } from './logger.ts';
import { redisKeys } from './redis/keys.ts';
import { startRedisServer } from './redis/redis-server-process.ts';
import type { ChatAdapter } from './types.ts';

function dataDirOf(config: Config): string {
  return resolve(process.env.VMOPS_DATA_DIR || config.bot.dataDir);
}

function logLevel(): string {
  return process.env.VMOPS_LOG_LEVEL || 'info';
}

/** Resolves on the first SIGINT/SIGTERM; calls `again` on a second one. */
function onSignals(again: () => void): Promise<string> {
  return new Promise((resolve) => {
    let seen = false;
    const handler = (signal: string) => {
      if (seen) again();
      seen = true;
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

async function runLocal(cli: RunCommand, config: Config): Promise<void> {
  const dataDir = dataDirOf(config);
  const redisDir = join(dataDir, 'redis');
  const release = await lockDataDir(dataDir, join(redisDir, 'redis.pid'));
  const log = createLogger({
    level: logLevel(),
    destination: pino.destination({ dest: join(dataDir, 'vmops.log'), mkdir: true, sync: false }),
  });
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const configuredUrl = process.env.VMOPS_REDIS_URL || config.redis.url;
  const privateRedis = configuredUrl
    ? undefined
    : await startRedisServer({ dir: redisDir, appendOnly: true });
  const redisUrl = configuredUrl || (privateRedis?.url ?? '');
  log.info({ redis: redactUrl(redisUrl), dataDir, private: Boolean(privateRedis) }, 'starting local mode');

  const shell = new ShellAdapter({
    input: process.stdin,
    output: process.stdout,
    interactive,
    as: config.networks.shell?.as ?? 'operator',
  });
  const adapters = new Map<string, ChatAdapter>([[shell.network, shell]]);
  const instanceId = `${hostname()}-${process.pid}`;
  const core = await startBotCore({ config, redisUrl, adapters, log, instanceId });
  const worker =
    cli.mode === 'local'
      ? await startStageWorkers({
          config,
          redisUrl,
          keys: redisKeys(config.redis.prefix),
          log,
          repoRoot,
          dataDir,
          name: instanceId,
        })
      : undefined;

  const started: string[] = [];
  if (interactive) {
    process.stdout.write(
      `vmops local mode: you are ${shell.speaker}. Type help, /as <person> to switch, Ctrl-D to quit.\n` +
        `Logs go to ${join(dataDir, 'vmops.log')}.\n`,
    );
  }
  await shell.start(async (message) => {
    const handled = await core.handle(message);
    started.push(...handled.jobs);
  });
  const signal = onSignals(() => {
    process.stderr.write('vmops: cancelling running jobs\n');
    void worker?.close({ cancelRunning: true });
  });
  const how = await Promise.race([shell.ended.then(() => 'end' as const), signal]);
  if (how === 'end' && !interactive && cli.wait) {
    await Promise.race([core.notifier.whenSettled(started), signal]);
  }
  if (worker && worker.running() > 0) {
    process.stderr.write(
      `vmops: waiting for ${worker.running()} running job(s) to end (Ctrl-C again cancels them)\n`,
    );
  }
  await shell.stop();
  await worker?.close();
  await core.close();
  await privateRedis?.stop();
  log.info('stopped');
  log.flush();
  release();
}

async function runWorker(cli: RunCommand, config: Config): Promise<void> {
  const redisUrl = process.env.VMOPS_REDIS_URL || config.redis.url;
  if (!redisUrl) {
    throw new VmopsError(
      'config_invalid',
      'a worker needs the Redis the bot uses: set redis.url in the config or VMOPS_REDIS_URL (e.g. redis://buildhost:6379)',
    );
  }
  const log = createLogger({ level: logLevel() });
  const name = `${hostname()}-${process.pid}`;
  let worker: Awaited<ReturnType<typeof startStageWorkers>> | undefined;
  // Listen before the workers start: a job may begin the moment they do.
  const signal = onSignals(() => void worker?.close({ cancelRunning: true }));
  worker = await startStageWorkers({
    config,
    redisUrl,
    keys: redisKeys(config.redis.prefix),
    log,
    repoRoot,
    dataDir: dataDirOf(config),
    name,
    ...(cli.stages ? { stages: cli.stages } : {}),
  });
  log.info({ redis: redactUrl(redisUrl), name, stages: cli.stages ?? 'all' }, 'worker ready');
  log.info({ signal: await signal, running: worker.running() }, 'stopping: waiting for running jobs');
  await worker.close();
  log.info('worker stopped');
}

async function main(argv: readonly string[]): Promise<number> {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) {
    process.stderr.write(
      `vmops needs Node 24 (this is ${process.version}): run it with npm start, which installs it.\n`,
    );
    return 1;
  }
  const cli = parseCli(argv, process.env);
  if (cli.mode === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (cli.mode === 'config-check') {
    const config = loadConfig(resolve(cli.configFile));
    const people = Object.keys(config.people).length;
    process.stdout.write(
      `${cli.configFile}: valid (${Object.keys(config.products).length} product(s), ${Object.keys(config.formats).length} formats, ${Object.keys(config.clouds).length} clouds, ${people} people)\n`,
    );
    return 0;
  }
  const config = loadConfig(cli.configFile ? resolve(cli.configFile) : defaultConfigPath);
  if (cli.mode === 'worker') await runWorker(cli, config);
  else await runLocal(cli, config);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const failure = asVmopsError(error);
    process.stderr.write(`vmops: ${failure.message}\n`);
    if (failure.code === 'internal_error') process.stderr.write(`${(error as Error).stack ?? ''}\n`);
    process.exit(failure.code === 'config_invalid' ? 78 : 1);
  },
);
