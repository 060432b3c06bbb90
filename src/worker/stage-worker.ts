// The worker runtime: takes stage jobs from the queues and runs the product's recipe steps for each
// (src/worker/run-stage.ts), reporting progress and log lines into the job. A job is cancelled through
// a Redis flag plus a pub/sub nudge, so `cancel` works whichever process runs it. Workers never import
// adapters: all they know of chat is the job data.
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { throttle } from 'es-toolkit/function/throttle';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import { AuditJournal } from '../audit/audit-journal.ts';
import { AuditTrail } from '../audit/audit-trail.ts';
import { Catalog } from '../catalog/catalog.ts';
import { packageSetEnvironment } from '../catalog/package-set.ts';
import { reconcileDownloads } from '../catalog/reconcile-downloads.ts';
import { type StageEnd, StageLifecycle } from '../catalog/stage-lifecycle.ts';
import { roomKey } from '../chat/chat-keys.ts';
import { cloudStepEnvironment } from '../clouds/cloud-settings.ts';
import { asVmopsError, VmopsError } from '../errors.ts';
import { traceOf } from '../observability/trace.ts';
import { announceAgent } from '../queue/agent-presence.ts';
import { encodeFailure } from '../queue/failure-reason.ts';
import { imageLock, releaseLock } from '../queue/image-lock.ts';
import { configuredFormats, queueRoutes } from '../queue/stage-queues.ts';
import { connectRedis, type RedisTarget } from '../redis/connect.ts';
import type { RedisKeys } from '../redis/keys.ts';
import { checkProductionRedis } from '../redis/production-check.ts';
import type { JobData, JobProgress, JobResult, Stage } from '../types.ts';
import { STAGES } from '../types.ts';
import { type RecoveredJobs, recoverLostJobs } from './recover-lost-jobs.ts';
import { processStart, RunRecords } from './run-records.ts';
import { runStage } from './run-stage.ts';

export interface StageWorkerOptions {
  config: Config;
  /** A redis:// URL, or a Sentinel or Cluster topology. */
  redisUrl: RedisTarget;
  keys: RedisKeys;
  log: Logger;
  /** Where relative step programs are found. */
  repoRoot: string;
  /** Data directory: job work directories go under `work/`. */
  dataDir: string;
  /** Worker name shown in progress (host name and pid by default). */
  name: string;
  /** Stages this worker runs (default all). */
  stages?: readonly Stage[];
  /** Formats this worker makes (default every format in config). */
  formats?: readonly string[];
  /** Host name shown by `agents`. */
  host?: string;
  /** Check the Redis settings for production and log warnings (the worker process; the bot does it itself). */
  checkRedis?: boolean;
}

export interface StageWorkers {
  /** Stops taking jobs and waits for running ones; with `cancelRunning`, cancels them first. */
  close(options?: { cancelRunning?: boolean }): Promise<void>;
  /** Number of jobs running now. */
  running(): number;
  /** What this start settled of the jobs a dead worker of its data directory left. */
  recovered: RecoveredJobs;
}

const CANCEL_POLL_MS = 2000;
const PROGRESS_INTERVAL_MS = 250;

export function jobEnvironment(
  data: JobData,
  workdir: string,
  dataDir: string,
  clouds: Config['clouds'] = {},
): Record<string, string> {
  const env: Record<string, string> = {
    VMOPS_IMAGES_DIR: join(dataDir, 'images'),
    VMOPS_DOWNLOADS_DIR: join(dataDir, 'downloads'),
    VMOPS_CLOUDS_ROOT: join(dataDir, 'clouds'),
    VMOPS_JOB_ID: data.jobId,
    VMOPS_STAGE: data.stage,
    VMOPS_PRODUCT: data.product,
    VMOPS_VERSION: data.version,
    VMOPS_REQUESTED_BY: data.requestedBy.person,
    VMOPS_WORKDIR: workdir,
    VMOPS_DATA_DIR: dataDir,
  };
  if (data.format !== undefined) env.VMOPS_FORMAT = data.format;
  if (data.cloud !== undefined) {
    const cloud = clouds[data.cloud];
    const path = cloud?.driver === 'directory' ? cloud.path : undefined;
    env.VMOPS_CLOUD = data.cloud;
    env.VMOPS_CLOUD_DRIVER = cloud?.driver ?? 'directory';
    env.VMOPS_CLOUD_PATH = resolve(dataDir, path ?? join('clouds', data.cloud));
  }
  for (const [name, value] of Object.entries(data.params)) {
    env[`VMOPS_PARAM_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] = value;
  }
  return env;
}

export async function startStageWorkers(options: StageWorkerOptions): Promise<StageWorkers> {
  const { config, keys } = options;
  const commands = connectRedis(options.redisUrl, { name: `vmops-worker-${options.name}`, log: options.log });
  const subscriber = connectRedis(options.redisUrl, {
    blocking: true,
    name: `vmops-worker-sub-${options.name}`,
    log: options.log,
  });
  const running = new Map<string, AbortController>();
  let workers: Worker<JobData, JobResult, Stage>[] = [];
  let closing = false;
  const catalog = new Catalog(commands, keys);
  const lifecycle = new StageLifecycle(catalog, commands, keys);
  const records = new RunRecords(options.dataDir);
  const self = { name: options.name, pid: process.pid, start: processStart(process.pid) ?? '' };
  const journal = new AuditJournal(join(options.dataDir, 'audit'), `worker-${options.name}`, (error) =>
    options.log.error({ err: error }, 'could not write the audit journal'),
  );
  const audit = new AuditTrail(commands, keys, { key: config.audit.key, journal });
  /** Puts a job's start or end in the audit trail; a failure to do so is logged, never fatal to the job. */
  const auditJob = (data: JobData, what: string, extra: Record<string, string> = {}) =>
    audit.record(
      {
        kind: `job.${what}`,
        actor: options.name,
        room: roomKey(data.origin),
        summary: `job ${data.jobId} (${[data.stage, data.product, data.version, data.format ?? data.cloud].filter(Boolean).join(' ')}, asked by ${data.requestedBy.person}) ${what} on ${options.name}`,
        detail: { job: data.jobId, stage: data.stage, requester: data.requestedBy.person, ...extra },
      },
      options.log.child({ jobId: data.jobId }),
    );

  await subscriber.subscribe(keys.cancelChannel);
  subscriber.on('message', (_channel: string, jobId: string) => {
    const controller = running.get(jobId);
    if (controller) void abortIfCancelled(jobId, controller, true);
  });

  /** Aborts a running job whose cancel flag is set (`nudged`: a cancel was just announced, flag or not). */
  async function abortIfCancelled(jobId: string, controller: AbortController, nudged = false): Promise<void> {
    const by = await commands.get(keys.cancel(jobId));
    if (by !== null || nudged) controller.abort(`cancelled by ${by ?? 'someone'}`);
  }

  /**
   * At most jobs.concurrency jobs run at once in this process, across all its queues. Workers stop
   * fetching when it is full; a job fetched in the same instant waits here for a slot, and says so.
   */
  const slots = pLimit(config.jobs.concurrency);
  const noStepYet = (steps: number): JobProgress => ({
    step: 0,
    steps,
    stepName: '',
    percent: 0,
    startedAt: Date.now(),
    worker: options.name,
  });
  /** Attempts of the job that ran a step before this one. */
  const attemptsBefore = (job: Job<JobData, JobResult>): number =>
    (job.progress as Partial<JobProgress> | undefined)?.attempt ?? 0;
  function inSlot(job: Job<JobData, JobResult>, signal?: AbortSignal): Promise<JobResult> {
    // Taken: if this process dies from here on, the next start on this data directory settles the job
    // (recover-lost-jobs.ts); a job that waited here for a slot and never ran a step runs again then.
    const { stage, product, version, format, cloud, params } = job.data;
    records.begin({
      jobId: job.data.jobId,
      queue: job.queueName,
      data: { stage, product, version, params, ...(format ? { format } : {}), ...(cloud ? { cloud } : {}) },
      worker: self,
    });
    if (slots.activeCount >= config.jobs.concurrency) {
      const waiting = {
        ...noStepYet(0),
        attempt: attemptsBefore(job),
        message: `waiting for a free slot on ${options.name}`,
      };
      void job.updateProgress(waiting as unknown as object).catch(() => undefined);
    }
    return slots(() => processJob(job, signal));
  }

  async function processJob(job: Job<JobData, JobResult>, signal?: AbortSignal): Promise<JobResult> {
    try {
      return await runJob(job, signal);
    } finally {
      // Whatever happened, the image is free for the next job, and the job ended here.
      await releaseLock(commands, imageLock(keys, job.data), job.data.jobId).catch(() => undefined);
      records.end(job.data.jobId);
    }
  }

  async function runJob(job: Job<JobData, JobResult>, signal?: AbortSignal): Promise<JobResult> {
    const data = job.data;
    const log = options.log.child({
      jobId: data.jobId,
      stage: data.stage,
      person: data.requestedBy.person,
      trace: data.trace ?? traceOf(data.eventKey),
    });
    const cancelledBy = await commands.get(keys.cancel(data.jobId));
    if (cancelledBy !== null) {
      throw new UnrecoverableError(
        encodeFailure('cancelled', `cancelled by ${cancelledBy} before it started`),
      );
    }
    const steps = config.products[data.product]?.stages[data.stage]?.steps;
    if (!steps) {
      throw new UnrecoverableError(
        encodeFailure('no_recipe', `product ${data.product} has no steps for stage ${data.stage} in config`),
      );
    }
    const controller = new AbortController();
    signal?.addEventListener('abort', () => controller.abort(String(signal.reason ?? 'cancelled')), {
      once: true,
    });
    running.set(data.jobId, controller);
    if (running.size >= config.jobs.concurrency) for (const w of workers) w.pause(true);
    const poll = setInterval(
      () => void abortIfCancelled(data.jobId, controller).catch(() => undefined),
      CANCEL_POLL_MS,
    );

    const startedAt = Date.now();
    const workdir = join(options.dataDir, 'work', data.jobId);
    const report = throttle(
      (progress: JobProgress) => {
        void job
          .updateProgress(progress as unknown as object)
          .catch((error) => log.warn({ err: error }, 'progress'));
      },
      PROGRESS_INTERVAL_MS,
      { edges: ['leading', 'trailing'] },
    );
    let logChain: Promise<unknown> = Promise.resolve();
    let attempt = attemptsBefore(job);
    let lastProgress: JobProgress = { ...noStepYet(steps.length), startedAt, worker: options.name, attempt };
    // Who runs it is in Redis before anything else happens, so a worker that dies at once is named.
    await job
      .updateProgress(lastProgress as unknown as object)
      .catch((error: unknown) => log.warn({ err: error }, 'progress'));
    /**
     * Records the end in the catalog; a test summary goes into the job's last progress. A test stage
     * whose steps succeeded but whose report failed (the catalog made the image `failed`) is failed.
     */
    let recorded = false;
    const recordEnd = async (end: StageEnd): Promise<{ testsFailed: boolean; tests?: string }> => {
      recorded = true;
      const tests = await lifecycle.end(data, end).catch((error: unknown) => {
        log.error({ err: error }, 'could not record the job in the catalog');
        return undefined;
      });
      if (tests !== undefined) await job.updateProgress({ ...lastProgress, tests } as unknown as object);
      const testsFailed =
        end.ok &&
        data.stage === 'test' &&
        data.format !== undefined &&
        (await catalog.image(data.product, data.version, data.format))?.state === 'failed';
      const how = end.ok && !testsFailed ? 'succeeded' : controller.signal.aborted ? 'cancelled' : 'failed';
      const why = end.error ?? (testsFailed ? tests : undefined);
      await auditJob(data, how, why ? { error: why.slice(0, 300) } : {});
      return { testsFailed, ...(tests === undefined ? {} : { tests }) };
    };
    log.info({ worker: options.name, steps: steps.length }, 'job started');
    try {
      mkdirSync(workdir, { recursive: true });
      await lifecycle.begin(data);
      await auditJob(data, 'started');
      const result = await runStage({
        steps,
        params: {
          ...jobEnvironment(data, workdir, options.dataDir, config.clouds),
          ...packageSetEnvironment(config.products[data.product], data.version),
        },
        // Only steps marked cloudAccess get the clouds' settings and secrets.
        cloudEnv: cloudStepEnvironment(data, config.clouds),
        repoRoot: options.repoRoot,
        cwd: workdir,
        defaultTimeoutMs: config.jobs.stepTimeout,
        hosts: config.hosts,
        ...(config.jobs.bootSlots === undefined ? {} : { bootSlots: config.jobs.bootSlots }),
        signal: controller.signal,
        onProgress: (p) => {
          lastProgress = { ...p, startedAt, worker: options.name, attempt };
          report(lastProgress);
        },
        onStepStart: (step) => {
          if (step !== 1) return;
          attempt += 1; // this attempt runs a step: it counts
          records.stepStarting(data.jobId);
        },
        onSpawn: (pid) => records.spawned(data.jobId, pid),
        onLog: (line) => {
          logChain = logChain.then(() => job.log(line)).catch(() => undefined);
        },
      });
      report.flush();
      await logChain;
      const ended = await recordEnd({ ok: true, artifacts: result.artifacts, reports: result.reports });
      if (ended.testsFailed) {
        throw new VmopsError(
          'tests_failed',
          `the tests failed: ${ended.tests ?? 'no report was left by the test steps'}`,
        );
      }
      // What a job needs to keep is in the catalog, the download area or Redis by now; a failed job's
      // directory stays for whoever looks into the failure.
      await rm(workdir, { recursive: true, force: true }).catch(() => undefined);
      log.info({ durationMs: result.durationMs }, 'job succeeded');
      return result;
    } catch (error) {
      report.flush();
      await logChain;
      const failure = asVmopsError(error);
      const message =
        failure.code === 'cancelled' && typeof controller.signal.reason === 'string'
          ? `${controller.signal.reason} (${failure.message.replace(/^cancelled\s*/, '')})`
          : failure.message;
      const detail = failure.detail ?? {};
      if (!recorded)
        await recordEnd({
          ok: false,
          artifacts: (detail.artifacts as string[] | undefined) ?? [],
          reports: (detail.reports as string[] | undefined) ?? [],
          error: message,
        });
      log.info({ code: failure.code, message }, 'job failed');
      // (An UnrecoverableError skips the attempts left: a failing step fails the same way again.)
      if (failure.code !== 'internal_error') {
        throw new UnrecoverableError(encodeFailure(failure.code, message));
      }
      throw new Error(encodeFailure(failure.code, message));
    } finally {
      clearInterval(poll);
      running.delete(data.jobId);
      if (running.size < config.jobs.concurrency && !closing) for (const w of workers) w.resume();
    }
  }

  const stages = options.stages ?? STAGES;
  const formats = options.formats ?? configuredFormats(config.products);
  // Before taking any job: settle what a dead worker of this data directory left, then make the
  // catalog agree with the download area.
  // A queue is made only for a job that needs settling: usually none (issue 17).
  const recoveryNames = new Set(
    queueRoutes(STAGES, configuredFormats(config.products)).map(({ name }) => name),
  );
  const recoveryQueues = new Map<string, Queue<JobData, JobResult>>();
  const recoveryQueue = (name: string) => {
    if (!recoveryNames.has(name)) return undefined;
    let queue = recoveryQueues.get(name);
    if (!queue) {
      queue = new Queue<JobData, JobResult>(name, { connection: commands, prefix: config.redis.prefix });
      recoveryQueues.set(name, queue);
    }
    return queue;
  };
  let recovered: RecoveredJobs;
  try {
    recovered = await recoverLostJobs({
      records,
      redis: commands,
      prefix: config.redis.prefix,
      queue: recoveryQueue,
      catalog,
      downloadsDir: join(options.dataDir, 'downloads'),
      lockMs: config.jobs.workerTimeout,
      log: options.log,
    });
    if (recovered.killed.length + recovered.lost.length + recovered.requeued.length > 0)
      options.log.warn(recovered, 'settled the jobs a dead worker of this data directory left');
    if (stages.includes('publish') || stages.includes('revoke')) {
      await reconcileDownloads({
        catalog,
        downloadsDir: join(options.dataDir, 'downloads'),
        products: Object.keys(config.products),
        log: options.log,
      });
    }
  } finally {
    await Promise.all([...recoveryQueues.values()].map((queue) => queue.close().catch(() => undefined)));
  }
  // The workers share one connection for their commands (BullMQ gives each its own blocking duplicate
  // for fetching jobs): one connection per queue cost a connection, a ready check and a CLIENT SETNAME
  // each at start-up, 21 of each for a local mode's queues (issue 17). It retries forever, like theirs.
  const shared = connectRedis(options.redisUrl, {
    name: `vmops-worker-queues-${options.name}`,
    blocking: true,
    log: options.log,
  });
  workers = queueRoutes(stages, formats).map(({ name }) => {
    return new Worker<JobData, JobResult, Stage>(name, (job, _token, signal) => inSlot(job, signal), {
      connection: shared,
      prefix: config.redis.prefix,
      concurrency: config.jobs.concurrency,
      name: options.name,
      // A job whose worker vanished (killed, cut off) is noticed when its lock lapses; it runs again
      // only while jobs.attempts allows, else it fails with a reason the room sees (job-view.ts).
      maxStalledCount: config.jobs.attempts - 1,
      lockDuration: config.jobs.workerTimeout,
      stalledInterval: Math.max(500, Math.floor(config.jobs.workerTimeout / 2)),
    });
  });
  for (const worker of workers) {
    worker.on('error', (error) => options.log.warn({ err: error }, 'worker connection error'));
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  if (options.checkRedis) await checkProductionRedis(commands, options.log);
  const presence = await announceAgent(
    commands,
    keys,
    {
      name: options.name,
      host: options.host ?? 'localhost',
      pid: process.pid,
      stages: [...stages],
      formats: [...formats],
      startedAt: Date.now(),
    },
    () => running.size,
  );

  return {
    running: () => running.size,
    recovered,
    async close(closeOptions = {}) {
      closing = true;
      if (closeOptions.cancelRunning) {
        for (const controller of running.values()) controller.abort('cancelled: the worker is shutting down');
      }
      // Stop fetching on every queue at once, before anything that waits.
      const stopped = Promise.all(workers.map((w) => w.close()));
      await presence.stop().catch(() => undefined);
      await stopped;
      shared.disconnect();
      await journal.close();
      subscriber.disconnect();
      commands.disconnect();
    },
  };
}
