// What a worker does at start, before it takes a job, for the jobs a dead worker of its data directory
// left behind (run-records.ts): stops their step processes that are provably still the ones it started,
// then settles each job so that the queue, the catalog and the download area agree:
// - a job that never ran a step goes back to the queue and runs now (it did nothing);
// - a job that ran a step ends `worker_lost`, and its image is left as the download area shows it:
//   a publish whose files are in index.json is published, a revoke on the revocation list is revoked;
//   a build or test that was cut off is `unknown` (images shows it; the next build or test repairs it).
// Then the catalog and the download area are reconciled as a whole (reconcile-downloads.ts).
import { randomUUID } from 'node:crypto';
import { type Job, type Queue, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.ts';
import { downloadState } from '../catalog/reconcile-downloads.ts';
import { encodeFailure } from '../queue/failure-reason.ts';
import type { JobData, JobResult } from '../types.ts';
import { type RunRecord, type RunRecords, stillRunning } from './run-records.ts';

export interface RecoveredJobs {
  /** Jobs that never ran a step, back in the queue. */
  requeued: string[];
  /** Jobs that ran a step and ended worker_lost, their images settled. */
  lost: string[];
  /** Step process groups stopped. */
  killed: number[];
}

/** Stops what is left of a step: its whole process group, if it is still the process recorded. */
function killOrphans(record: RunRecord): number[] {
  const killed: number[] = [];
  for (const step of record.steps) {
    if (!stillRunning(step)) continue;
    try {
      process.kill(-step.pid, 'SIGKILL');
      killed.push(step.pid);
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}

/** The lock token of an active job: the dead worker's (proved dead), or a new one taken now. */
async function lockToken(redis: Redis, prefix: string, record: RunRecord, lockMs: number): Promise<string> {
  const key = `${prefix}:${record.queue}:${record.jobId}:lock`;
  const held = await redis.get(key);
  if (held !== null) return held;
  const token = `recovery-${randomUUID()}`;
  await redis.set(key, token, 'PX', lockMs, 'NX');
  return (await redis.get(key)) ?? token;
}

/** Makes the image or version say what the lost job left behind. */
async function settleCatalog(
  catalog: Catalog,
  downloadsDir: string,
  record: RunRecord,
  lost: string,
): Promise<void> {
  const { stage, product, version, format } = record.data;
  const who = { product, version, job: record.jobId, by: 'vmops' };
  if ((stage === 'build' || stage === 'test') && format !== undefined) {
    const image = await catalog.image(product, version, format);
    if (image && image.job === record.jobId && (image.state === 'building' || image.state === 'testing')) {
      await catalog.putImage({
        ...who,
        by: image.by,
        format,
        state: 'unknown',
        error: `${lost}: ${stage === 'build' ? 'build' : 'test'} it again`,
      });
    }
    return;
  }
  const shown = await downloadState(downloadsDir, product, version);
  if (stage === 'publish' && format !== undefined && shown.formats.includes(format) && !shown.revoked) {
    await catalog.putImage({ ...who, format, state: 'published', publishedAt: Date.now() });
  }
  if (stage === 'revoke' && shown.revoked) {
    const record2 = await catalog.version(product, version);
    for (const image of record2.images)
      await catalog.putImage({ ...who, format: image.format, state: 'revoked' });
    if (!record2.revoked) {
      await catalog.putVersion(
        product,
        version,
        { clouds: [], revoked: { at: Date.now(), by: 'vmops', reason: record.data.params?.reason ?? '' } },
        { event: 'revoked', product, version, stage, job: record.jobId, by: 'vmops', at: Date.now() },
      );
    }
  }
}

export async function recoverLostJobs(options: {
  records: RunRecords;
  redis: Redis;
  prefix: string;
  queue(name: string): Queue<JobData, JobResult> | undefined;
  catalog: Catalog;
  downloadsDir: string;
  lockMs: number;
  log: Pick<Logger, 'info' | 'warn'>;
}): Promise<RecoveredJobs> {
  const result: RecoveredJobs = { requeued: [], lost: [], killed: [] };
  for (const record of options.records.orphaned()) {
    result.killed.push(...killOrphans(record));
    const queue = options.queue(record.queue);
    const job = (await queue?.getJob(record.jobId)) as Job<JobData, JobResult> | undefined;
    const state = job ? await job.getState() : 'missing';
    const lost = `its worker ${record.worker.name} (pid ${record.worker.pid}) died while the job ran`;
    if (job && (state === 'active' || state === 'failed')) {
      if (!record.stepRan) {
        // It never did anything: run it now.
        if (state === 'active')
          await job.moveToWait(await lockToken(options.redis, options.prefix, record, options.lockMs));
        else await job.retry('failed');
        result.requeued.push(record.jobId);
        options.log.info({ jobId: record.jobId, was: state }, 'a job lost before its first step runs again');
      } else {
        await settleCatalog(
          options.catalog,
          options.downloadsDir,
          record,
          `job ${record.jobId} was lost: ${lost}`,
        );
        if (state === 'active') {
          const token = await lockToken(options.redis, options.prefix, record, options.lockMs);
          await job.moveToFailed(
            new UnrecoverableError(
              encodeFailure(
                'worker_lost',
                `${lost}; what it changed was checked against the catalog and the download area`,
              ),
            ),
            token,
          );
        }
        result.lost.push(record.jobId);
        options.log.warn({ jobId: record.jobId, was: state }, 'a job lost with its worker was settled');
      }
    }
    options.records.settled(record.jobId);
  }
  return result;
}
