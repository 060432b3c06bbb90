// The image catalog in Redis: every image (product, version, format) with its state, artifacts, test
// result and history, and every version with the clouds it runs on and its revocation. Each change
// is also appended to the lifecycle stream, which room subscriptions read.
import type { Redis } from 'ioredis';
import { canonicalVersion } from '../grammar/version.ts';
import { hashFields } from '../redis/hash-fields.ts';
import type { RedisKeys } from '../redis/keys.ts';
import { LuaScript } from '../redis/lua-script.ts';
import type { TestCounts } from '../reports/test-report.ts';
import type { Stage } from '../types.ts';

/**
 * Where an image stands (DESIGN.md): building → built → testing → passed | failed → published → revoked;
 * `unknown` when a job that changed it was lost with its worker, or the catalog and the download area
 * disagreed (the next build, test or publish repairs it).
 */
export type ImageState =
  | 'building'
  | 'built'
  | 'testing'
  | 'passed'
  | 'failed'
  | 'published'
  | 'revoked'
  | 'unknown';

export interface Artifact {
  /** File path on the worker that made it. */
  path: string;
  /** Bytes, when the worker could read the file. */
  size?: number;
  /** Hex SHA-256, when the worker could read the file. */
  sha256?: string;
}

export interface TestSummary {
  passed: number;
  failed: number;
  skipped: number;
  /** Names of the first failing tests. */
  failures: string[];
  /** The test job. */
  job: string;
}

export interface ImageRecord {
  product: string;
  version: string;
  format: string;
  state: ImageState;
  /** The last job that changed the image. */
  job: string;
  /** Person who ran that job. */
  by: string;
  /** When the state last changed (ms since epoch). */
  updatedAt: number;
  artifacts: Artifact[];
  test?: TestSummary;
  publishedAt?: number;
  /** Why the last stage failed. */
  error?: string;
  /** Kernel version inside the image (a recipe that collects packages says it in its build.json). */
  kernel?: string;
  /** How many packages are installed in the image. */
  packages?: number;
  /** File name of the package manifest (name, version, architecture of every package), among the artifacts. */
  manifest?: string;
  /** Which revision of the version the image is (0, or absent: the first build; `update` makes 1, 2, …). */
  revision?: number;
}

/** A package that `update` changed: `from` absent when added, `to` absent when removed. */
export interface PackageChange {
  name: string;
  from?: string;
  to?: string;
}

/** A revision of a version made by `update`: the package set collected again against newer packages. */
export interface RevisionRecord {
  revision: number;
  /** published: tested and in the download area; failed: a test failed, nothing was published. */
  state: 'published' | 'failed';
  job: string;
  by: string;
  at: number;
  formats: string[];
  changes: PackageChange[];
  tests?: { passed: number; failed: number; skipped: number };
}

export interface VersionRecord {
  product: string;
  version: string;
  images: ImageRecord[];
  /** Clouds the version is deployed on. */
  clouds: string[];
  /** How many software updates were published for it. */
  updates: number;
  revoked?: { at: number; by: string; reason: string };
  /** Revisions made by `update`, oldest first (absent or empty: only the first build). */
  revisions?: RevisionRecord[];
}

/** A lifecycle event, as subscribers receive it. */
export interface LifecycleEvent {
  event: 'built' | 'passed' | 'failed' | 'published' | 'deployed' | 'updated' | 'revoked';
  product: string;
  version: string;
  format?: string;
  cloud?: string;
  /** The stage whose job caused it (tells a failed build from a failed test). */
  stage?: Stage;
  job: string;
  by: string;
  at: number;
  /** A line of text: a revocation's reason, an update's changes, why a stage failed. */
  detail?: string;
  /**
   * A test stage's result as numbers; its summary line is rendered when the event is read. (Events
   * written before carry that line in `detail` instead, and are shown as they are.)
   */
  tests?: TestCounts;
}

const STREAM_LENGTH = 10_000;

/**
 * A version as stored, in one step: its formats (KEYS[1]), its fields (KEYS[2], flat), each format's
 * image record ('' when there is none; image keys are ARGV[1] .. format, under the prefix's hash tag),
 * and the other spellings of the version (KEYS[3] field ARGV[2], when given; '' when none).
 */
const READ_VERSION = new LuaScript(
  `
local formats = redis.call('SMEMBERS', KEYS[1])
local records = {}
for i, format in ipairs(formats) do records[i] = redis.call('HGET', ARGV[1] .. format, 'record') or '' end
local spellings = ''
if ARGV[2] ~= '' then spellings = redis.call('HGET', KEYS[3], ARGV[2]) or '' end
return {formats, redis.call('HGETALL', KEYS[2]), records, spellings}`,
  3,
);

export class Catalog {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;

  constructor(redis: Redis, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  async image(product: string, version: string, format: string): Promise<ImageRecord | undefined> {
    const raw = await this.#redis.hget(this.#keys.image(product, version, format), 'record');
    return raw ? (JSON.parse(raw) as ImageRecord) : undefined;
  }

  async version(product: string, version: string): Promise<VersionRecord> {
    return (await this.versionAndSpellings(product, version, false)).record;
  }

  /**
   * A version, and the other spellings of it the catalog holds (from before versions had one spelling;
   * none for a catalog started since), read in one step.
   */
  async versionAndSpellings(
    product: string,
    version: string,
    spellings = true,
  ): Promise<{ record: VersionRecord; otherSpellings: string[] }> {
    const canonical = spellings ? (canonicalVersion(version) ?? version) : '';
    const [formats, flat, raws, others] = (await READ_VERSION.run(
      this.#redis,
      [
        this.#keys.formats(product, version),
        this.#keys.version(product, version),
        this.#keys.legacySpellings(product),
      ],
      [this.#keys.image(product, version, ''), canonical],
    )) as [string[], string[], string[], string];
    const fields = hashFields(flat);
    const images = formats
      .map((format, i) => ({ format, raw: raws[i] ?? '' }))
      .sort((a, b) => (a.format < b.format ? -1 : a.format > b.format ? 1 : 0))
      .flatMap(({ raw }) => (raw ? [JSON.parse(raw) as ImageRecord] : []));
    const record: VersionRecord = {
      product,
      version,
      images,
      clouds: fields.clouds ? (JSON.parse(fields.clouds) as string[]) : [],
      updates: Number(fields.updates ?? 0),
    };
    if (fields.revoked) record.revoked = JSON.parse(fields.revoked) as NonNullable<VersionRecord['revoked']>;
    if (fields.revisions) record.revisions = JSON.parse(fields.revisions) as RevisionRecord[];
    const otherSpellings = others ? (JSON.parse(others) as string[]).filter((v) => v !== version) : [];
    return { record, otherSpellings };
  }

  /**
   * Indexes, once per product, the versions stored under a spelling that is not their canonical one
   * (`2.07`, kept from before versions had one spelling): the gates then find a revocation under any
   * spelling with one read, instead of reading every version of the product. Versions since are stored
   * canonically only, so a product's index never grows after this. A product configured later (or
   * again) is indexed at the first start that has it; the marker of a catalog indexed before that was
   * per product (one for every product configured then) is dropped, and those are indexed again (the
   * same values).
   */
  async indexLegacySpellings(products: readonly string[]): Promise<void> {
    if (products.length === 0) return;
    const done = await this.#redis.smismember(this.#keys.legacySpellingsIndexed, ...products);
    const todo = products.filter((_, i) => done[i] !== 1);
    if (todo.length === 0) return;
    for (const product of todo) {
      const byCanonical = new Map<string, string[]>();
      for (const stored of await this.#redis.zrange(this.#keys.versions(product), '0', '-1')) {
        const canonical = canonicalVersion(stored);
        if (canonical === undefined || canonical === stored) continue;
        byCanonical.set(canonical, [...(byCanonical.get(canonical) ?? []), stored]);
      }
      if (byCanonical.size === 0) continue;
      await this.#redis.hset(
        this.#keys.legacySpellings(product),
        Object.fromEntries(
          [...byCanonical].map(([canonical, stored]) => [canonical, JSON.stringify(stored)]),
        ),
      );
    }
    await this.#redis
      .multi()
      .sadd(this.#keys.legacySpellingsIndexed, ...todo)
      .del(this.#keys.legacySpellingsIndexedOnce)
      .exec();
  }

  /** Versions of a product, newest first. */
  async versions(product: string): Promise<string[]> {
    return this.#redis.zrevrange(this.#keys.versions(product), 0, -1);
  }

  /** Writes an image's new record (merging into the old one) and appends the event, if any. */
  async putImage(
    change: Pick<ImageRecord, 'product' | 'version' | 'format' | 'state' | 'job' | 'by'> &
      Partial<ImageRecord>,
    event?: LifecycleEvent,
  ): Promise<ImageRecord> {
    const { product, version, format } = change;
    const before = await this.image(product, version, format);
    const record: ImageRecord = { artifacts: [], ...before, ...change, updatedAt: Date.now() };
    if (change.error === undefined) delete record.error;
    if (change.state === 'building') {
      // What the last build said about its contents is no longer true.
      for (const key of ['kernel', 'packages', 'manifest', 'revision'] as const) delete record[key];
    }
    const tx = this.#redis
      .multi()
      .hset(this.#keys.image(product, version, format), 'record', JSON.stringify(record))
      .sadd(this.#keys.formats(product, version), format)
      .zadd(this.#keys.versions(product), 'NX', String(record.updatedAt), version);
    if (event)
      tx.xadd(
        this.#keys.lifecycle,
        'MAXLEN',
        '~',
        String(STREAM_LENGTH),
        '*',
        'event',
        JSON.stringify(event),
      );
    await tx.exec();
    return record;
  }

  /**
   * Removes a version from the catalog as if it had never been: its images, formats and version facts.
   * For a version that never should have existed (`expunge`); the lifecycle stream keeps its history.
   * Returns what was removed.
   */
  async expunge(product: string, version: string): Promise<VersionRecord> {
    const record = await this.version(product, version);
    const tx = this.#redis
      .multi()
      .zrem(this.#keys.versions(product), version)
      .del(this.#keys.version(product, version), this.#keys.formats(product, version));
    for (const image of record.images) tx.del(this.#keys.image(product, version, image.format));
    await tx.exec();
    const canonical = canonicalVersion(version);
    if (canonical !== undefined && canonical !== version)
      await this.#forgetSpelling(product, canonical, version);
    return record;
  }

  /** Takes an expunged legacy spelling out of the index (see indexLegacySpellings). */
  async #forgetSpelling(product: string, canonical: string, version: string): Promise<void> {
    const key = this.#keys.legacySpellings(product);
    const raw = await this.#redis.hget(key, canonical);
    const left = raw ? (JSON.parse(raw) as string[]).filter((v) => v !== version) : [];
    if (left.length > 0) await this.#redis.hset(key, canonical, JSON.stringify(left));
    else await this.#redis.hdel(key, canonical);
  }

  /** Changes version-wide facts (clouds, updates, revocation) and appends the event. */
  async putVersion(
    product: string,
    version: string,
    change: {
      clouds?: string[];
      updates?: number;
      revoked?: VersionRecord['revoked'];
      revisions?: RevisionRecord[];
    },
    event: LifecycleEvent,
  ): Promise<void> {
    const fields: Record<string, string> = {};
    if (change.clouds) fields.clouds = JSON.stringify(change.clouds);
    if (change.updates !== undefined) fields.updates = String(change.updates);
    if (change.revoked) fields.revoked = JSON.stringify(change.revoked);
    if (change.revisions) fields.revisions = JSON.stringify(change.revisions);
    const tx = this.#redis
      .multi()
      .zadd(this.#keys.versions(product), 'NX', String(Date.now()), version)
      .xadd(this.#keys.lifecycle, 'MAXLEN', '~', String(STREAM_LENGTH), '*', 'event', JSON.stringify(event));
    if (Object.keys(fields).length > 0) tx.hset(this.#keys.version(product, version), fields);
    await tx.exec();
  }
}
