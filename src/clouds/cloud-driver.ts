// The one small interface every cloud driver implements (directory, glance, ec2), and the words they
// share. A driver holds no policy: it publishes, finds, marks, removes and launches what it is told,
// and says what the cloud answered. The cloud step (cloud-step.ts) and the `clouds` command use it.

/** What a cloud says about one image vmops put there, in the driver's own words and in ours. */
export interface CloudImage {
  /** The cloud's image id: a Glance UUID, an AMI id, a directory name. */
  id: string;
  /** The image's name in the cloud. */
  name: string;
  product?: string;
  version?: string;
  /** Revision number: 0 for the version as deployed, 1 for `2.5 r1` after the first update, … */
  revision?: number;
  /** sha256 of the image file, as vmops recorded it when uploading. */
  sha256?: string;
  /**
   * How it stands for people who would start it: `offered` (usable and listed), `hidden` (superseded
   * by a newer revision: still usable, not listed), `deactivated`, `incomplete` (an upload that never
   * finished: unusable), `pending` (the cloud is still working on it), `failed`.
   */
  state: 'offered' | 'hidden' | 'deactivated' | 'incomplete' | 'pending' | 'failed';
  /** The cloud's own status word (`active`, `queued`, `available`, …). */
  status: string;
  /** Bytes, when the cloud says. */
  size?: number;
  /** Where else the image lives (the S3 object of an AMI). */
  storage?: string;
}

/** One image file to put into a cloud. */
export interface PublishInput {
  /** Absolute path of the image file. */
  file: string;
  /** Its size in bytes. */
  size: number;
  /** Its digests, computed before the upload; what the cloud reports is checked against them. */
  digests: FileDigests;
  product: string;
  version: string;
  revision: number;
  /** Format name from config (kvm, xen, ec2, …). */
  format: string;
  /** The job that publishes it (recorded with the image). */
  job: string;
  /** Called as bytes go out. */
  onProgress: (sentBytes: number) => void;
  signal: AbortSignal;
}

/** Hex digests of a file: the cloud reports one of these (Glance md5 + sha512, S3 ETag). */
export interface FileDigests {
  md5: string;
  sha256: string;
  sha512: string;
  /** S3 multipart ETag (`md5-of-part-md5s-N`) for `partSize`, when the file has more than one part. */
  multipartEtag?: string;
  partSize: number;
}

/** A machine started from an image. */
export interface CloudInstance {
  id: string;
  state: string;
  /** The job that launched it, when vmops did. */
  launchedBy?: string;
}

/** What removing an image did, step by step, in words for the status message and the catalog. */
export interface RemoveOutcome {
  id: string;
  done: string[];
}

export interface CloudDriver {
  /** The cloud's name in config. */
  readonly name: string;
  /** `directory`, `glance` or `ec2`. */
  readonly driver: string;
  /** The format the cloud takes (config `format`). */
  readonly format: string | undefined;
  /** True when `launch` can start instances. */
  readonly canLaunch: boolean;
  /** Checks the endpoint answers and the credentials are accepted; throws CloudError otherwise. */
  check(signal: AbortSignal): Promise<void>;
  /** Images vmops put there, of a product (and version) or all; read from the cloud itself. */
  list(filter: { product?: string; version?: string }, signal: AbortSignal): Promise<CloudImage[]>;
  /** Uploads the file, verifies the checksum the cloud reports, and returns the image offered. */
  publish(input: PublishInput): Promise<CloudImage>;
  /** Marks an image superseded by a newer revision: hidden from listings, still usable. */
  hide(image: CloudImage, supersededBy: number, signal: AbortSignal): Promise<void>;
  /** Deactivates, then deletes the image and what it is stored in. */
  remove(image: CloudImage, signal: AbortSignal): Promise<RemoveOutcome>;
  /** Starts `count` instances with the user-data; only where `canLaunch`. */
  launch(
    image: CloudImage,
    userData: string,
    count: number,
    job: string,
    signal: AbortSignal,
  ): Promise<string[]>;
  /** Instances running the image. */
  instances(image: CloudImage, signal: AbortSignal): Promise<CloudInstance[]>;
  /** Stops instances for good. */
  terminate(ids: readonly string[], signal: AbortSignal): Promise<void>;
}

/** Why a cloud call failed: names the cloud, what was being done and what the cloud said. */
export class CloudError extends Error {
  override readonly name = 'CloudError';
  readonly cloud: string;
  /** HTTP status, when the cloud answered one. */
  readonly status: number | undefined;
  /** True when trying again later may work (connection refused, timeout, 5xx, throttling). */
  readonly transient: boolean;

  constructor(
    cloud: string,
    message: string,
    options: { status?: number; transient?: boolean; cause?: unknown } = {},
  ) {
    super(`cloud ${cloud}: ${message}`, { cause: options.cause });
    this.cloud = cloud;
    this.status = options.status;
    this.transient = options.transient ?? false;
  }
}

/** The file name of an image in a cloud: product, version, revision and format. */
export function imageName(product: string, version: string, revision: number, format: string): string {
  return `${product}-${version}-r${revision}-${format}`;
}

/** `2.6` or `2.6 r1`: how people write a version and its revision. */
export function versionLabel(version: string | undefined, revision: number | undefined): string {
  return `${version ?? '?'}${revision ? ` r${revision}` : ''}`;
}
