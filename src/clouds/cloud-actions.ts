// What a cloud step does to one cloud for deploy, update and revoke, through the driver interface;
// each returns what it did in a form the catalog records (deployment-record.ts) and a line for the
// room. The checks that need no upload (endpoint, credentials, user-data) come first.
import { stat } from 'node:fs/promises';
import { VmopsError } from '../errors.ts';
import type { CloudDriver, CloudImage } from './cloud-driver.ts';
import { imageName, versionLabel } from './cloud-driver.ts';
import { fileDigests, S3_PART_SIZE } from './file-digests.ts';
import { formatBytes } from './format-bytes.ts';
import type { PublishedFile } from './published-image.ts';
import { uploadProgress } from './upload-progress.ts';

/** What a step did to one cloud. */
export interface CloudOutcome {
  cloud: string;
  driver: string;
  action: 'deployed' | 'already' | 'updated' | 'unchanged' | 'removed' | 'skipped' | 'failed';
  /** The image offered now (deploy, update). */
  image?: { id: string; revision: number; sha256?: string; name: string };
  /** Images marked superseded (update). */
  hidden?: { id: string; revision?: number }[];
  /** Images removed, and how (revoke; also leftovers of a failed upload found by deploy). */
  removed?: { id: string; revision?: number; done: string[] }[];
  launched?: string[];
  terminated?: string[];
  /** Instances still running a removed image (revoke without --terminate). */
  stillRunning?: string[];
  /** One line for the room. */
  line: string;
  error?: string;
}

export interface ActionContext {
  product: string;
  version: string;
  revision: number;
  job: string;
  signal: AbortSignal;
  /** Prints one line of the step protocol. */
  print: (line: string) => void;
}

const sameImage = (image: CloudImage, revision: number, sha256: string) =>
  image.revision === revision && (image.sha256 === undefined || image.sha256 === sha256);

/** Uploads the file as the version's current revision, checking the checksum the cloud reports. */
async function upload(
  cloud: CloudDriver,
  file: PublishedFile,
  format: string,
  ctx: ActionContext,
  from: number,
  to: number,
): Promise<CloudImage> {
  const size = (await stat(file.path)).size;
  ctx.print(`::status checking ${file.name} before the upload to ${cloud.name}`);
  const digests = await fileDigests(file.path, S3_PART_SIZE);
  if (digests.sha256 !== file.sha256) {
    throw new VmopsError(
      'step_failed',
      `${file.name} does not match its sha256 in the download index (${digests.sha256.slice(0, 16)}… is not ${file.sha256.slice(0, 16)}…): publish it again`,
    );
  }
  const label = `${ctx.product} ${versionLabel(ctx.version, ctx.revision)}`;
  const progress = uploadProgress({
    total: size,
    what: `uploading ${label} to ${cloud.name}`,
    from,
    to,
    print: ctx.print,
  });
  const image = await cloud.publish({
    file: file.path,
    size,
    digests,
    product: ctx.product,
    version: ctx.version,
    revision: ctx.revision,
    format,
    job: ctx.job,
    onProgress: (sent) => progress.update(sent),
    signal: ctx.signal,
  });
  progress.done();
  return image;
}

/** Removes what an earlier, failed upload of this version left behind (unusable, but listed). */
async function removeLeftovers(cloud: CloudDriver, images: CloudImage[], ctx: ActionContext) {
  const removed: NonNullable<CloudOutcome['removed']> = [];
  for (const image of images.filter((i) => i.state === 'incomplete' || i.state === 'failed')) {
    const outcome = await cloud.remove(image, ctx.signal);
    ctx.print(
      `::status removed an incomplete upload from ${cloud.name} (${image.id}: ${outcome.done.join(', ')})`,
    );
    removed.push({
      id: image.id,
      ...(image.revision === undefined ? {} : { revision: image.revision }),
      done: outcome.done,
    });
  }
  return removed;
}

/** deploy: the version's current revision offered on the cloud, then `launch` instances if asked. */
export async function deployTo(
  cloud: CloudDriver,
  file: PublishedFile,
  format: string,
  ctx: ActionContext,
  launch?: { count: number; userData: string },
): Promise<CloudOutcome> {
  const base = { cloud: cloud.name, driver: cloud.driver };
  ctx.print(`::progress 2 checking ${cloud.name} (${cloud.driver})`);
  await cloud.check(ctx.signal);
  const found = await cloud.list({ product: ctx.product, version: ctx.version }, ctx.signal);
  const removed = await removeLeftovers(cloud, found, ctx);
  const label = `${ctx.product} ${versionLabel(ctx.version, ctx.revision)}`;
  let image = found.find((i) => i.state === 'offered' && sameImage(i, ctx.revision, file.sha256));
  let line: string;
  let action: CloudOutcome['action'];
  if (image !== undefined) {
    action = 'already';
    line = `${label} is already on ${cloud.name} (image ${image.id}): nothing uploaded`;
    ctx.print(`::progress 90 ${line}`);
  } else {
    image = await upload(cloud, file, format, ctx, 5, 90);
    action = 'deployed';
    line = `${label} uploaded to ${cloud.name} as image ${image.id} (${formatBytes(image.size ?? 0)}, checksum verified)`;
  }
  const outcome: CloudOutcome = {
    ...base,
    action,
    image: {
      id: image.id,
      revision: ctx.revision,
      name: image.name || imageName(ctx.product, ctx.version, ctx.revision, format),
      ...(image.sha256 === undefined ? {} : { sha256: image.sha256 }),
    },
    line,
  };
  if (removed.length > 0) outcome.removed = removed;
  if (launch !== undefined && launch.count > 0) {
    ctx.print(`::progress 95 starting ${launch.count} instance(s) of ${image.id} on ${cloud.name}`);
    outcome.launched = await cloud.launch(image, launch.userData, launch.count, ctx.job, ctx.signal);
    outcome.line += `; started ${outcome.launched.join(', ')}`;
  }
  return outcome;
}

/**
 * update: on a cloud that offers the version, the current revision is uploaded and the older ones
 * are hidden. A cloud that does not offer the version is left alone.
 */
export async function updateOn(
  cloud: CloudDriver,
  file: () => PublishedFile,
  format: string,
  ctx: ActionContext,
): Promise<CloudOutcome> {
  const base = { cloud: cloud.name, driver: cloud.driver };
  const found = await cloud.list({ product: ctx.product, version: ctx.version }, ctx.signal);
  const offered = found.filter((i) => i.state === 'offered');
  if (offered.length === 0)
    return {
      ...base,
      action: 'skipped',
      line: `${cloud.name}: ${ctx.product} ${ctx.version} is not offered there`,
    };
  const published = file();
  let current = offered.find((i) => sameImage(i, ctx.revision, published.sha256));
  const label = `${ctx.product} ${versionLabel(ctx.version, ctx.revision)}`;
  const parts: string[] = [];
  if (current === undefined) {
    current = await upload(cloud, published, format, ctx, 10, 80);
    parts.push(`r${ctx.revision} uploaded as image ${current.id}`);
  } else {
    parts.push(`${label} was already there (image ${current.id})`);
  }
  const hidden: NonNullable<CloudOutcome['hidden']> = [];
  for (const old of offered) {
    if (old.id === current.id || (old.revision ?? 0) >= ctx.revision) continue;
    await cloud.hide(old, ctx.revision, ctx.signal);
    hidden.push({ id: old.id, ...(old.revision === undefined ? {} : { revision: old.revision }) });
    parts.push(`r${old.revision ?? 0} (${old.id}) hidden`);
  }
  const outcome: CloudOutcome = {
    ...base,
    action: hidden.length > 0 || parts[0]?.includes('uploaded') ? 'updated' : 'unchanged',
    image: {
      id: current.id,
      revision: ctx.revision,
      name: current.name,
      ...(current.sha256 === undefined ? {} : { sha256: current.sha256 }),
    },
    line: `${cloud.name}: ${parts.join(', ')}`,
  };
  if (hidden.length > 0) outcome.hidden = hidden;
  return outcome;
}

/**
 * revoke: every image of the version on the cloud (offered, hidden, incomplete) is deactivated and
 * deleted; instances vmops launched from them are terminated only when `terminate` is set. The cloud
 * is listed again afterwards: anything of the version still there fails the step.
 */
export async function revokeFrom(
  cloud: CloudDriver,
  ctx: ActionContext,
  terminate: boolean,
): Promise<CloudOutcome> {
  const base = { cloud: cloud.name, driver: cloud.driver };
  const found = await cloud.list({ product: ctx.product, version: ctx.version }, ctx.signal);
  if (found.length === 0)
    return {
      ...base,
      action: 'skipped',
      line: `${cloud.name}: nothing of ${ctx.product} ${ctx.version} there`,
    };
  const removed: NonNullable<CloudOutcome['removed']> = [];
  const terminated: string[] = [];
  const stillRunning: string[] = [];
  for (const image of found) {
    const running = (await cloud.instances(image, ctx.signal)).filter((i) => i.launchedBy !== undefined);
    if (terminate && running.length > 0) {
      await cloud.terminate(
        running.map((i) => i.id),
        ctx.signal,
      );
      terminated.push(...running.map((i) => i.id));
    } else stillRunning.push(...running.map((i) => i.id));
    const outcome = await cloud.remove(image, ctx.signal);
    ctx.print(`::status ${cloud.name}: ${image.id} ${outcome.done.join(', ')}`);
    removed.push({
      id: image.id,
      ...(image.revision === undefined ? {} : { revision: image.revision }),
      done: outcome.done,
    });
  }
  const left = await cloud.list({ product: ctx.product, version: ctx.version }, ctx.signal);
  if (left.length > 0) {
    throw new VmopsError(
      'cloud_failed',
      `cloud ${cloud.name} still lists ${left.map((i) => `${i.id} (${i.status})`).join(', ')} after the revoke`,
    );
  }
  const parts = [
    `${removed.length} image(s) deactivated and deleted (${removed.map((r) => r.id).join(', ')})`,
  ];
  if (terminated.length > 0) parts.push(`terminated ${terminated.join(', ')}`);
  if (stillRunning.length > 0)
    parts.push(`${stillRunning.join(', ')} still running (revoke with --terminate to stop them)`);
  const outcome: CloudOutcome = {
    ...base,
    action: 'removed',
    removed,
    line: `${cloud.name}: ${parts.join('; ')}`,
  };
  if (terminated.length > 0) outcome.terminated = terminated;
  if (stillRunning.length > 0) outcome.stillRunning = stillRunning;
  return outcome;
}
