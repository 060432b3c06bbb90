// Worker mode (`npm start -- worker`): the stage workers for the Redis in config, until a signal stops
// them (the first lets running jobs end, a second cancels them).
import { hostname } from 'node:os';
import type { Config } from '../../config/schema.ts';
import { VmopsError } from '../errors.ts';
import { redisKeys } from '../redis/keys.ts';
import type { StageWorkers } from '../worker/stage-worker.ts';
import { type Basics, logLevel } from './basics.ts';
import type { RunCommand } from './cli-args.ts';
import { watchSignals } from './process-life.ts';

export async function runWorker(cli: RunCommand, config: Config, basics: Basics): Promise<void> {
  const { createLogger, dataDirOf, describeTarget, redisTargetOf, repoRoot } = basics;
  const redisUrl = redisTargetOf(config.redis);
  if (!redisUrl) {
    throw new VmopsError(
      'config_invalid',
      'a worker needs the Redis the bot uses: set redis.url (or redis.sentinel, redis.cluster) in the config or VMOPS_REDIS_URL (e.g. redis://buildhost:6379)',
    );
  }
  const log = createLogger({ level: logLevel() });
  const name = `${hostname()}-${process.pid}`;
  const [{ startStageWorkers }, { configuredFormats }] = await Promise.all([
    import('../worker/stage-worker.ts'),
    import('../queue/stage-queues.ts'),
  ]);
  let worker: StageWorkers | undefined;
  // Listen before the workers start: a job may begin the moment they do.
  const signals = watchSignals(() => void worker?.close({ cancelRunning: true }));
  worker = await startStageWorkers({
    config,
    redisUrl,
    keys: redisKeys(config.redis.prefix),
    log,
    repoRoot,
    dataDir: dataDirOf(config),
    name,
    ...(cli.stages ? { stages: cli.stages } : {}),
    ...(cli.formats ? { formats: checkFormats(cli.formats, configuredFormats(config.products)) } : {}),
    host: hostname(),
    checkRedis: true,
  });
  log.info({ redis: describeTarget(redisUrl), name, stages: cli.stages ?? 'all' }, 'worker ready');
  const signal = await signals.requested;
  const running = worker.running();
  const closed = worker.close();
  log.info({ signal, running }, 'stopping: waiting for running jobs');
  await closed;
  log.info('worker stopped');
}

/** Worker --formats must be formats from config (`known`). */
function checkFormats(formats: string[], known: readonly string[]): string[] {
  const unknown = formats.filter((f) => !known.includes(f));
  if (unknown.length > 0) {
    throw new VmopsError(
      'bad_option',
      `--formats: ${unknown.join(', ')} is not a format in config (${known.join(', ')})`,
    );
  }
  return formats;
}
