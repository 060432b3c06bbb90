// What a stage job does to the catalog, applied by the worker that runs it: a build makes an image
// `building` then `built` (with its artifacts and checksums) or `failed`; a test reads the report the
// steps left and makes it `passed` or `failed`; publish, deploy, update and revoke record their effect
// on the image or the version. Each change is a lifecycle event.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Redis } from 'ioredis';
import { recordCloudResult } from '../clouds/deployment-record.ts';
import type { RedisKeys } from '../redis/keys.ts';
import { reportSummary } from '../render/test-report.ts';
import { readReport } from '../reports/read-report.ts';
import type { TestReport } from '../reports/test-report.ts';
import type { JobData } from '../types.ts';
import type { Artifact, Catalog, LifecycleEvent, TestSummary } from './catalog.ts';

/** How a stage job ended, as the worker saw it. */
export interface StageEnd {
  ok: boolean;
  /** Artifact paths the steps announced (`::artifact`). */
  artifacts: readonly string[];
  /** Test report paths the steps announced (`::report`). */
  reports: readonly string[];
  /** Why it failed. */
  error?: string;
}

const REPORT_TTL_MS = 30 * 24 * 3600_000;

async function describeArtifact(path: string): Promise<Artifact> {
  try {
    const info = await stat(path);
    const hash = createHash('sha256');
    await pipeline(createReadStream(path), hash);
    return { path, size: info.size, sha256: hash.digest('hex') };
  } catch {
    return { path }; // made on another host (SSH step): only the path is known here
  }
}

async function mergedReport(paths: readonly string[]): Promise<TestReport | undefined> {
  const reports = await Promise.all(paths.map((p) => readReport(p)));
  const [first, ...rest] = reports;
  if (!first) return undefined;
  const merged: TestReport = { ...first, cases: [...first.cases], problems: [...first.problems] };
  for (const r of rest) {
    merged.total += r.total;
    merged.passed += r.passed;
    merged.failed += r.failed;
    merged.skipped += r.skipped;
    merged.cases.push(...r.cases);
    merged.problems.push(...r.problems);
  }
  return merged;
}

export class StageLifecycle {
  readonly #catalog: Catalog;
  readonly #redis: Redis;
  readonly #keys: RedisKeys;

  constructor(catalog: Catalog, redis: Redis, keys: RedisKeys) {
    this.#catalog = catalog;
    this.#redis = redis;
    this.#keys = keys;
  }

  /** Marks the image as being built or tested. */
  async begin(data: JobData): Promise<void> {
    if (data.format === undefined) return;
    const state = data.stage === 'build' ? 'building' : data.stage === 'test' ? 'testing' : undefined;
    if (!state) return;
    await this.#catalog.putImage({ ...this.#who(data), format: data.format, state });
  }

  /** Records how the job ended; returns a one-line test summary for the status message, if any. */
  async end(data: JobData, end: StageEnd): Promise<string | undefined> {
    const event = (name: LifecycleEvent['event'], detail?: string): LifecycleEvent => {
      const e: LifecycleEvent = {
        event: name,
        product: data.product,
        version: data.version,
        stage: data.stage,
        job: data.jobId,
        by: data.requestedBy.person,
        at: Date.now(),
      };
      if (data.format !== undefined) e.format = data.format;
      if (data.cloud !== undefined) e.cloud = data.cloud;
      if (detail !== undefined) e.detail = detail;
      return e;
    };
    const who = this.#who(data);
    const format = data.format ?? '';
    switch (data.stage) {
      case 'build': {
        if (!end.ok) {
          await this.#catalog.putImage(
            { ...who, format, state: 'failed', artifacts: [], error: end.error ?? 'build failed' },
            event('failed', end.error),
          );
          return undefined;
        }
        const artifacts = await Promise.all(end.artifacts.map(describeArtifact));
        await this.#catalog.putImage({ ...who, format, state: 'built', artifacts }, event('built'));
        return undefined;
      }
      case 'test': {
        const report = await mergedReport(end.reports);
        if (report)
          await this.#redis.set(this.#keys.report(data.jobId), JSON.stringify(report), 'PX', REPORT_TTL_MS);
        const passed = end.ok && report !== undefined && report.failed === 0 && report.problems.length === 0;
        const test: TestSummary = {
          passed: report?.passed ?? 0,
          failed: report?.failed ?? 0,
          skipped: report?.skipped ?? 0,
          failures: (report?.cases ?? [])
            .filter((c) => c.status === 'failed')
            .slice(0, 5)
            .map((c) => c.name),
          job: data.jobId,
        };
        const summary = report ? reportSummary(report) : 'tests: no report was left by the test steps';
        const failure = passed ? {} : { error: end.error ?? summary };
        await this.#catalog.putImage(
          { ...who, format, state: passed ? 'passed' : 'failed', test, ...failure },
          event(passed ? 'passed' : 'failed', summary),
        );
        return summary;
      }
      case 'publish': {
        if (end.ok)
          await this.#catalog.putImage(
            { ...who, format, state: 'published', publishedAt: Date.now() },
            event('published'),
          );
        return undefined;
      }
      case 'deploy': {
        // The cloud step's result: image ids per cloud; its summary goes in the status message.
        const clouds = await recordCloudResult(this.#redis, this.#keys, data, end.artifacts);
        if (!end.ok || data.cloud === undefined) return clouds;
        const version = await this.#catalog.version(data.product, data.version);
        await this.#catalog.putVersion(
          data.product,
          data.version,
          { clouds: [...new Set([...version.clouds, data.cloud])].sort() },
          event('deployed'),
        );
        return clouds;
      }
      case 'update': {
        const clouds = await recordCloudResult(this.#redis, this.#keys, data, end.artifacts);
        if (!end.ok) return clouds;
        const version = await this.#catalog.version(data.product, data.version);
        await this.#catalog.putVersion(
          data.product,
          data.version,
          { updates: version.updates + 1 },
          event('updated', `update ${version.updates + 1}`),
        );
        return clouds;
      }
      case 'revoke': {
        const clouds = await recordCloudResult(this.#redis, this.#keys, data, end.artifacts);
        if (!end.ok) return clouds;
        const version = await this.#catalog.version(data.product, data.version);
        for (const image of version.images)
          await this.#catalog.putImage({ ...who, format: image.format, state: 'revoked' });
        const reason = data.params.reason ?? '';
        await this.#catalog.putVersion(
          data.product,
          data.version,
          { clouds: [], revoked: { at: Date.now(), by: who.by, reason } },
          event('revoked', reason),
        );
        return clouds;
      }
    }
  }

  #who(data: JobData) {
    return { product: data.product, version: data.version, job: data.jobId, by: data.requestedBy.person };
  }
}
