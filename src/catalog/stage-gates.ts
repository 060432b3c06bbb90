// Lifecycle policy gates, checked when a stage is asked for: only built images are tested, only passed
// images are published, only published versions are deployed or updated, and a revoked version stays
// revoked. A refusal says what the image lacks and what to do first.

import { VmopsError } from '../errors.ts';
import type { StageRequest } from '../grammar/command-spec.ts';
import type { Stage } from '../types.ts';
import type { Catalog, ImageRecord, VersionRecord } from './catalog.ts';

const DONE: Record<Stage, string> = {
  build: 'built',
  test: 'tested',
  publish: 'published',
  deploy: 'deployed',
  update: 'updated',
  revoke: 'revoked',
};

const refuse = (message: string): never => {
  throw new VmopsError('not_ready', message);
};

/** How an image that has not passed stands, in words. */
const NOT_PASSED: Partial<Record<ImageRecord['state'], string>> = {
  building: 'it is being built',
  built: 'it is built but not tested',
  testing: 'it is being tested',
  failed: 'its last build or test failed',
  unknown: 'its state is unknown: a job on it was lost with its worker',
};

/** An unknown image whose last test passed may be published again (which repairs it). */
const passedBefore = (image: ImageRecord | undefined): boolean =>
  image?.state === 'unknown' && image.test !== undefined && image.test.failed === 0 && image.test.passed > 0;

function checkImage(request: StageRequest, image: ImageRecord | undefined, name: string): void {
  if (request.stage === 'build' && image?.state === 'published') {
    refuse(`${name} is published, and a published image is not rebuilt: build a new version instead.`);
  }
  if (request.stage === 'test') {
    if (!image || (image.state === 'failed' && image.artifacts.length === 0)) {
      refuse(`${name} has not been built: build it first (build ${name}).`);
    }
    if (image?.state === 'building')
      refuse(`${name} is being built (job ${image.job}): test it when that job has ended.`);
  }
  if (
    request.stage === 'publish' &&
    image?.state !== 'passed' &&
    image?.state !== 'published' &&
    !passedBefore(image)
  ) {
    const now = ` (${image ? (NOT_PASSED[image.state] ?? `it is ${image.state}`) : 'it has not been built'})`;
    refuse(`${name} has not passed its tests${now}: test it first (test ${name}).`);
  }
}

function checkVersion(request: StageRequest, version: VersionRecord, name: string): void {
  if (version.revoked) {
    refuse(
      `${name} was revoked (${version.revoked.reason || 'no reason given'}): it cannot be ${DONE[request.stage]} again.`,
    );
  }
  const published = version.images.some((image) => image.state === 'published');
  if ((request.stage === 'deploy' || request.stage === 'update') && !published) {
    refuse(`${name} is not published: publish it first (publish ${name}).`);
  }
  if (request.stage === 'revoke' && version.images.length === 0) {
    refuse(`${name} has no images: there is nothing to revoke.`);
  }
}

/**
 * A revocation of the version under another spelling the catalog holds (`2.07` from before versions had
 * one spelling, when `2.7` is asked): a version revoked once stays revoked whatever it is called.
 */
async function revokedSpelling(
  catalog: Catalog,
  product: string,
  spellings: readonly string[],
): Promise<VersionRecord['revoked'] | undefined> {
  for (const stored of spellings) {
    const other = await catalog.version(product, stored);
    if (other.revoked) return other.revoked;
  }
  return undefined;
}

/** Throws `not_ready` for the first request the catalog does not allow. */
export async function checkStageGates(catalog: Catalog, requests: readonly StageRequest[]): Promise<void> {
  const versions = new Map<string, VersionRecord>();
  for (const request of requests) {
    const key = `${request.product} ${request.version}`;
    let version = versions.get(key);
    if (!version) {
      // The version and its other spellings in one read; those, in the rare catalog that has any, after.
      const { record, otherSpellings } = await catalog.versionAndSpellings(request.product, request.version);
      const spelled = await revokedSpelling(catalog, request.product, otherSpellings);
      version = record;
      const revoked = version.revoked ?? spelled;
      if (revoked) version = { ...version, revoked };
      versions.set(key, version);
    }
    checkVersion(request, version, key);
    if (request.format !== undefined) {
      const image = version.images.find((i) => i.format === request.format);
      checkImage(request, image, `${key} ${request.format}`);
    }
  }
}
