// Job control for command handlers: queue stage jobs (idempotently per chat event), look them up,
// read their logs, cancel and retry them. Works across processes: all state is in Redis.
import { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { accountKey, eventKey as eventKeyOf } from '../chat/chat-keys.ts';
import { VmopsError } from '../errors.ts';
import type { JobControl, StageRequest, SubmitCommit, SubmitLookAhead } from '../grammar/command-spec.ts';
import { traceOf } from '../observability/trace.ts';
import type { RedisKeys } from '../redis/keys.ts';
import type { ChatTarget, IncomingMessage, JobData, JobResult, JobStatusView } from '../types.ts';
import { forceLock, imageLock, releaseLock, takeLock } from './image-lock.ts';
import { jobBaseId, jobId } from './job-id.ts';
import { FINAL_STATES, jobView, storedJob } from './job-view.ts';
import { prepareQueueJob } from './queue-job.ts';
import { readJob } from './read-job.ts';
import { queueName, type StageQueues } from './stage-queues.ts';
import { unknownJob } from './unknown-job.ts';

export interface JobControlOptions {
  redis: Redis;
  keys: RedisKeys;
  queues: StageQueues;
  /** How many job ids `jobs` remembers. */
  keepRecent: number;
  /** Lifecycle gates: throws when the catalog does not allow a request. */
  gate?: (requests: readonly StageRequest[]) => Promise<void>;
  now?: () => number;
}

const TOMBSTONE_MS = 7 * 24 * 3600_000;
/** How many jobs' queues are remembered (about 100 B each). */
const QUEUES_KEPT = 10_000;

/** Whether two lists of requests ask for the same jobs. */
const sameRequests = (a: readonly StageRequest[], b: readonly StageRequest[]): boolean =>
  a.length === b.length && JSON.stringify(a) === JSON.stringify(b);

/** One job per command keeps the bare id; several get the format, cloud or position after it. */
function suffixFor(request: StageRequest, requests: readonly StageRequest[]): string | undefined {
  if (requests.length === 1) return undefined;
  return request.format ?? request.cloud ?? String(requests.indexOf(request) + 1);
}

export function createJobControl(options: JobControlOptions): JobControl & {
  /** The BullMQ job behind an id, if it exists. */
  find(id: string): Promise<Job<JobData, JobResult> | undefined>;
} {
  const { redis, keys, queues } = options;
  const now = options.now ?? Date.now;

  /** The queue of jobs this process queued or looked up (a job never changes queue), newest QUEUES_KEPT. */
  const queueNames = new LRUCache<string, string>({ max: QUEUES_KEPT });

  async function queueOf(id: string) {
    let name = queueNames.get(id);
    if (name === undefined) {
      name = (await redis.hget(keys.jobIndex, id))?.split(' ')[0];
      if (name !== undefined) queueNames.set(id, name);
    }
    return name === undefined ? undefined : queues.byName(name);
  }

  async function find(id: string): Promise<Job<JobData, JobResult> | undefined> {
    const queue = await queueOf(id);
    return queue ? ((await Job.fromId<JobData, JobResult>(queue, id)) ?? undefined) : undefined;
  }

  async function get(id: string): Promise<JobStatusView | undefined> {
    const queue = await queueOf(id);
    if (queue) {
      // The state and the job at one instant: a final state never comes with the data of before it
      // ended (a failure without its reason).
      const job = await readJob(redis, queue, id);
      if (job) return jobView(storedJob(job.fields), job.state);
    }
    const tombstone = await redis.get(keys.tombstone(id));
    return tombstone ? (JSON.parse(tombstone) as JobStatusView) : undefined;
  }

  async function mustGet(id: string): Promise<JobStatusView> {
    const view = await get(id);
    if (!view) throw unknownJob(id);
    return view;
  }

  /** Throws `image_busy` when `holder`, which holds the image's lock, is a job that has not ended. */
  async function mustBeOver(request: StageRequest, holder: string): Promise<void> {
    const view = await get(holder);
    if (view && !FINAL_STATES.has(view.state)) {
      const what = [request.product, request.version, request.format ?? request.cloud]
        .filter(Boolean)
        .join(' ');
      throw new VmopsError(
        'image_busy',
        `${what} is busy with job ${holder} (${view.stage}, ${view.state}): wait for it to end, or cancel it (cancel ${holder}).`,
      );
    }
  }

  /**
   * Queues a job once per chat event, in one script (queue-job.ts): the id is reserved for the event, so
   * a redelivery re-adds the same job (a no-op) and another event that hashes to the same id gets a
   * longer one instead; the image's lock is taken unless a job that has not ended holds it. `lockedAs`:
   * the id this command locked the image under beforehand (commands of several jobs lock them all first).
   */
  async function add(
    data: JobData,
    lockedAs?: string,
    takeOverFrom?: string,
    commit?: SubmitCommit,
  ): Promise<JobData> {
    const queueing = await prepareQueueJob(
      queues.queue(data.stage, data.format),
      data,
      { jobIndex: keys.jobIndex, lock: imageLock(keys, data), recentJobs: keys.recentJobs },
      {
        claim: `${queueName(data.stage, data.format)} ${data.eventKey}`,
        // Jobs that fall off the recent list are forgotten by the index too (BullMQ drops them as well).
        keepRecent: options.keepRecent,
        takeOverFrom: takeOverFrom ?? lockedAs,
      },
    );
    // Known before the script answers: the status message's post may read the job as soon as it is queued.
    queueNames.set(data.jobId, queueName(data.stage, data.format));
    const outcome = commit ? await commit.attempt(data.jobId, queueing) : await queueing.queue(redis);
    if (!outcome.refused) return data;
    queueNames.delete(data.jobId); // not queued: the id may be another event's, in another queue
    if (outcome.refused === 'id-taken')
      return add({ ...data, jobId: `${data.jobId}x` }, lockedAs, undefined, commit);
    if (outcome.refused === 'step')
      throw new Error(`a step of queueing ${data.jobId} refused: ${JSON.stringify(outcome.result)}`);
    await mustBeOver(data, outcome.holder);
    return add(data, lockedAs, outcome.holder, commit);
  }

  /** Takes the image's lock for a job, or says which job has it. */
  async function lock(request: StageRequest, id: string): Promise<void> {
    const lock = imageLock(keys, request);
    const holder = await takeLock(redis, lock, id);
    if (holder === undefined) return;
    await mustBeOver(request, holder);
    await forceLock(redis, lock, id);
  }

  /** Looked-ahead reads, by the token handed out (see lookAhead). */
  const lookedAhead = new WeakMap<SubmitLookAhead, ReturnType<typeof readsFor>>();

  /**
   * What submitting `requests` of `message` reads before it writes, side by side in one round trip: the
   * job index's claims on the jobs' ids (are they there already?) and the gates' verdict, which counts
   * only when the jobs are not there yet.
   */
  function readsFor(requests: readonly StageRequest[], message: IncomingMessage) {
    const base = jobBaseId(eventKeyOf(message));
    const ids = requests.map((request) => jobId(base, suffixFor(request, requests)));
    return Promise.all([
      redis.hmget(keys.jobIndex, ...ids),
      (options.gate?.(requests) ?? Promise.resolve()).then(
        () => undefined,
        (error: unknown) => ({ error }),
      ),
    ]);
  }

  return {
    find,
    get,

    async check(requests) {
      await options.gate?.(requests);
    },

    lookAhead(requests, message) {
      const token: SubmitLookAhead = { requests, message };
      const reads = readsFor(requests, message);
      reads.catch(() => undefined); // unused when the event is not admitted: its failure is nobody's
      lookedAhead.set(token, reads);
      return token;
    },

    async submit(requests, context, ahead, commit) {
      const eventKey = eventKeyOf(context.message);
      const base = jobBaseId(eventKey);
      // The same event again (a redelivery, a schedule tick run twice): its jobs exist, so answer with
      // them before the gates and locks, which the first run's own jobs may now hold or have changed.
      if (requests.length === 0) return [];
      const planned = requests.map((request) => ({ request, id: jobId(base, suffixFor(request, requests)) }));
      const claimOf = (p: (typeof planned)[number]) =>
        `${queueName(p.request.stage, p.request.format)} ${eventKey}`;
      // What was read ahead for exactly these requests of this message, or read now.
      const early =
        ahead && ahead.message === context.message && sameRequests(ahead.requests, requests)
          ? lookedAhead.get(ahead)
          : undefined;
      const [claims, gated] = await (early ?? readsFor(requests, context.message));
      if (planned.every((p, i) => claims[i] === claimOf(p))) return planned.map((p) => p.id);
      if (gated) throw gated.error;
      // Several jobs: every image is locked before any job is queued, so a busy one queues none.
      const several = planned.length > 1;
      if (several) for (const p of planned) await lock(p.request, p.id);
      const ids: string[] = [];
      for (const request of requests) {
        const data: JobData = {
          jobId: jobId(base, suffixFor(request, requests)),
          stage: request.stage,
          product: request.product,
          version: request.version,
          params: request.params ?? {},
          requestedBy: {
            person: context.principal.id,
            network: context.principal.account.network,
            account: context.principal.account.id,
            displayName: context.principal.known ? context.principal.id : context.principal.displayName,
          },
          origin: context.message.target,
          eventKey,
          commandText: context.commandText,
          createdAt: now(),
          trace: traceOf(eventKey),
        };
        if (request.format !== undefined) data.format = request.format;
        if (request.cloud !== undefined) data.cloud = request.cloud;
        ids.push(
          (await add(data, several ? data.jobId : undefined, undefined, several ? undefined : commit)).jobId,
        );
      }
      return ids;
    },

    async list(limit) {
      // Some recent ids may be gone from their queue already: read a few more, all at once.
      const ids = await redis.zrevrange(keys.recentJobs, 0, limit * 2);
      const views = await Promise.all(ids.map((id) => get(id)));
      return views.filter((view): view is JobStatusView => view !== undefined).slice(0, limit);
    },

    async logs(id, tail) {
      const job = await find(id);
      if (!job) return (await redis.exists(keys.tombstone(id))) ? [] : undefined;
      const queue = queues.queue(job.data.stage, job.data.format);
      const { logs } = await queue.getJobLogs(id, 0, tail - 1, false);
      return logs.reverse();
    },

    async cancel(id, by) {
      const view = await mustGet(id);
      if (FINAL_STATES.has(view.state)) {
        throw new VmopsError(
          'job_state',
          `job ${id} has already ended (${view.state}); there is nothing to cancel.`,
        );
      }
      const job = await find(id);
      if (job && view.state === 'queued') {
        const final: JobStatusView = {
          ...view,
          state: 'cancelled',
          finishedAt: now(),
          error: `cancelled by ${by.id} before it started`,
        };
        // The tombstone goes first, so whoever sees the removal can already read how it ended.
        await redis.set(keys.tombstone(id), JSON.stringify(final), 'PX', TOMBSTONE_MS);
        const removed = await job.remove().then(
          () => true,
          () => false, // it became active, or another cancel removed it first
        );
        if (removed) {
          await releaseLock(redis, imageLock(keys, job.data), id);
          return final;
        }
        if (!(await find(id))) return final;
        await redis.del(keys.tombstone(id)); // it runs: cancel it where it runs
      }
      await redis.set(keys.cancel(id), by.id, 'PX', TOMBSTONE_MS);
      await redis.publish(keys.cancelChannel, id);
      return { ...view, message: `cancel requested by ${by.id}` };
    },

    async retry(id, by, _origin: ChatTarget) {
      const view = await mustGet(id);
      if (view.state !== 'failed' && view.state !== 'cancelled') {
        throw new VmopsError(
          'job_state',
          `job ${id} is ${view.state}; only a failed or cancelled job can be retried.`,
        );
      }
      const job = await find(id);
      if (!job) {
        throw new VmopsError(
          'job_state',
          `job ${id} was cancelled before it started, so there is nothing to retry: run the command again.`,
        );
      }
      const request: StageRequest = {
        stage: job.data.stage,
        product: job.data.product,
        version: job.data.version,
      };
      if (job.data.format !== undefined) request.format = job.data.format;
      if (job.data.cloud !== undefined) request.cloud = job.data.cloud;
      await options.gate?.([request]); // what held when it was asked may not hold now
      await redis.del(keys.cancel(id));
      await lock(job.data, id);
      try {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      } catch {
        const now = await mustGet(id);
        throw new VmopsError(
          'job_state',
          `job ${id} is ${now.state} now (someone retried it first?): nothing to retry.`,
        );
      }
      await job.log(`retried by ${by.id} (${accountKey(by)})`);
      await redis.hdel(keys.statusMessages, id); // the retry gets a fresh status message where it was asked
      return mustGet(id);
    },
  };
}
