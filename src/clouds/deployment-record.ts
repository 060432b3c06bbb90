// The catalog's record of where a version is deployed: one Redis hash per version (kept apart from
// the version record), cloud name → the images vmops put there with the cloud's ids and revisions,
// what it launched, and what a revoke did. Written by the worker from the cloud step's result file
// (cloud-<stage>.json, an ::artifact), read by `images` and the web console.
import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.ts';
import type { JobData } from '../types.ts';
import type { CloudStepResult } from './cloud-step.ts';

export interface CloudDeployment {
  cloud: string;
  driver: string;
  /** Images of the version there, newest revision last. */
  images: {
    id: string;
    revision: number;
    sha256?: string;
    state: 'offered' | 'hidden' | 'removed';
    job: string;
    at: number;
  }[];
  launched: string[];
  /** What the last job did there, in words. */
  last: string;
  updatedAt: number;
}

const RESULT_FILE = /(^|\/)cloud-(deploy|update|revoke)\.json$/;

async function readResult(artifacts: readonly string[]): Promise<CloudStepResult | undefined> {
  const path = artifacts.find((artifact) => RESULT_FILE.test(artifact));
  if (path === undefined) return undefined;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as CloudStepResult;
  } catch {
    return undefined; // the step ran on another host, or died before writing it
  }
}

/** Every cloud's deployment of a version. */
export async function readDeployments(
  redis: Redis,
  keys: RedisKeys,
  product: string,
  version: string,
): Promise<CloudDeployment[]> {
  const fields = await redis.hgetall(keys.deployments(product, version));
  return Object.values(fields)
    .map((raw) => JSON.parse(raw) as CloudDeployment)
    .sort((a, b) => a.cloud.localeCompare(b.cloud));
}

/**
 * Records what a deploy, update or revoke job did in the clouds; returns the step's one-line summary
 * for the status message (also for a failure, where it names the cloud and the error).
 */
export async function recordCloudResult(
  redis: Redis,
  keys: RedisKeys,
  data: JobData,
  artifacts: readonly string[],
): Promise<string | undefined> {
  const result = await readResult(artifacts);
  if (result === undefined) return undefined;
  const key = keys.deployments(data.product, data.version);
  const now = Date.now();
  for (const outcome of result.clouds) {
    const raw = await redis.hget(key, outcome.cloud);
    const record: CloudDeployment = raw
      ? (JSON.parse(raw) as CloudDeployment)
      : { cloud: outcome.cloud, driver: outcome.driver, images: [], launched: [], last: '', updatedAt: now };
    if (outcome.driver !== '') record.driver = outcome.driver;
    const mark = (id: string, state: CloudDeployment['images'][number]['state']) => {
      for (const image of record.images) if (image.id === id) image.state = state;
    };
    for (const hidden of outcome.hidden ?? []) mark(hidden.id, 'hidden');
    for (const removed of outcome.removed ?? []) mark(removed.id, 'removed');
    if (outcome.image !== undefined && !record.images.some((i) => i.id === outcome.image?.id)) {
      record.images.push({
        id: outcome.image.id,
        revision: outcome.image.revision,
        ...(outcome.image.sha256 === undefined ? {} : { sha256: outcome.image.sha256 }),
        state: 'offered',
        job: data.jobId,
        at: now,
      });
    }
    record.launched.push(...(outcome.launched ?? []));
    if (outcome.action === 'skipped' && raw === null) continue; // nothing there, nothing to remember
    record.last = `${data.stage} (job ${data.jobId}): ${outcome.line}`;
    record.updatedAt = now;
    await redis.hset(key, outcome.cloud, JSON.stringify(record));
  }
  return result.summary === '' ? undefined : result.summary;
}
