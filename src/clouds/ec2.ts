// An EC2-API cloud (AWS, or any cloud that speaks its API) through the AWS SDK v3: the raw image goes
// to an S3 bucket (multipart, with its ETag checked against the file), an AMI is registered on a
// snapshot of it and tagged with vmops's facts; a superseded revision is tagged and given a
// deprecation time; removal deregisters the AMI, deletes its snapshot and the S3 object. Instances
// start with RunInstances and the rendered user-data.
import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeImportSnapshotTasksCommand,
  DescribeInstancesCommand,
  EC2Client,
  EnableImageDeprecationCommand,
  type Image,
  ImportSnapshotCommand,
  RegisterImageCommand,
  RunInstancesCommand,
  type Tag,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { CloudConfig } from '../../config/schema.ts';
import {
  type CloudDriver,
  CloudError,
  type CloudImage,
  type CloudInstance,
  imageName,
  type PublishInput,
  type RemoveOutcome,
} from './cloud-driver.ts';
import { S3_PART_SIZE } from './file-digests.ts';

type Ec2Config = Extract<CloudConfig, { driver: 'ec2' }>;

const GIB = 1024 ** 3;
const POLL_MS = 2000;
const IMPORT_FORMAT: Record<string, string> = { ec2: 'RAW', xen: 'RAW', vmware: 'VMDK', hyperv: 'VHDX' };

const TAG = {
  product: 'vmops:product',
  version: 'vmops:version',
  revision: 'vmops:revision',
  format: 'vmops:format',
  sha256: 'vmops:sha256',
  job: 'vmops:job',
  s3: 'vmops:s3',
  supersededBy: 'vmops:superseded-by',
  launchedBy: 'vmops:launched-by',
} as const;

const tagOf = (tags: Tag[] | undefined, key: string): string | undefined =>
  tags?.find((tag) => tag.Key === key)?.Value;

export class Ec2Cloud implements CloudDriver {
  readonly name: string;
  readonly driver = 'ec2';
  readonly format: string;
  readonly canLaunch = true;
  readonly #config: Ec2Config;
  readonly #ec2: EC2Client;
  readonly #s3: S3Client;

  constructor(name: string, config: Ec2Config) {
    this.name = name;
    this.format = config.format;
    this.#config = config;
    const credentials = {
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      ...(config.sessionToken === undefined ? {} : { sessionToken: config.sessionToken }),
    };
    const requestHandler = {
      requestTimeout: config.timeout,
      connectionTimeout: Math.min(config.timeout, 10_000),
    };
    this.#ec2 = new EC2Client({
      region: config.region,
      credentials,
      requestHandler,
      ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    });
    const s3Endpoint = config.s3Endpoint ?? config.endpoint;
    this.#s3 = new S3Client({
      region: config.region,
      credentials,
      requestHandler,
      forcePathStyle: config.forcePathStyle,
      ...(s3Endpoint === undefined ? {} : { endpoint: s3Endpoint }),
    });
  }

  /** Runs one SDK call; a failure becomes a CloudError naming the cloud and what the cloud said. */
  async #call<T>(doing: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof CloudError) throw error;
      const e = error as Error & { $metadata?: { httpStatusCode?: number }; code?: string; $fault?: string };
      const status = e.$metadata?.httpStatusCode;
      const what =
        status === undefined
          ? `did not answer: ${e.code ?? e.name}${e.message && e.message !== e.name ? ` (${e.message})` : ''}`
          : `HTTP ${status} ${e.name}${e.message && e.message !== e.name ? `: ${e.message.slice(0, 200)}` : ''}`;
      const credentials = status === 401 || status === 403 ? ' (are the credentials right?)' : '';
      throw new CloudError(this.name, `could not ${doing}: ${what}${credentials}`, {
        ...(status === undefined ? {} : { status }),
        transient: status === undefined || status >= 500 || status === 429,
        cause: error,
      });
    }
  }

  async check(signal: AbortSignal): Promise<void> {
    await this.#call('list images (checking the endpoint and credentials)', () =>
      this.#ec2.send(
        new DescribeImagesCommand({
          Owners: ['self'],
          Filters: [{ Name: 'tag-key', Values: [TAG.product] }],
        }),
        { abortSignal: signal },
      ),
    );
    await this.#call(`reach bucket ${this.#config.bucket}`, async () => {
      try {
        await this.#s3.send(new HeadBucketCommand({ Bucket: this.#config.bucket }), { abortSignal: signal });
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404)
          throw error;
      }
    });
  }

  async list(filter: { product?: string; version?: string }, signal: AbortSignal): Promise<CloudImage[]> {
    const filters = [
      filter.product === undefined
        ? { Name: 'tag-key', Values: [TAG.product] }
        : { Name: `tag:${TAG.product}`, Values: [filter.product] },
    ];
    if (filter.version !== undefined) filters.push({ Name: `tag:${TAG.version}`, Values: [filter.version] });
    const answer = await this.#call('list images', () =>
      this.#ec2.send(
        new DescribeImagesCommand({ Owners: ['self'], Filters: filters, IncludeDeprecated: true }),
        {
          abortSignal: signal,
        },
      ),
    );
    const images = (answer.Images ?? []).map((image) => this.#toCloudImage(image));
    // Image files in the bucket that no AMI uses: an upload whose registration never happened.
    const used = new Set(images.map((image) => image.storage));
    const prefix = [filter.product, filter.version].filter(Boolean).join('/');
    const objects = await this.#call(`list bucket ${this.#config.bucket}`, async () => {
      try {
        return await this.#s3.send(
          new ListObjectsV2Command({
            Bucket: this.#config.bucket,
            ...(prefix ? { Prefix: `${prefix}/` } : {}),
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        if ((error as { name?: string }).name === 'NoSuchBucket') return { Contents: [] };
        throw error;
      }
    });
    for (const object of objects.Contents ?? []) {
      const storage = `s3://${this.#config.bucket}/${object.Key}`;
      if (object.Key === undefined || used.has(storage)) continue;
      const [product, version, revision] = object.Key.split('/');
      const orphan: CloudImage = {
        id: storage,
        name: object.Key,
        state: 'incomplete',
        status: 'no AMI',
        storage,
      };
      if (product !== undefined) orphan.product = product;
      if (version !== undefined) orphan.version = version;
      if (revision !== undefined && /^r\d+$/.test(revision)) orphan.revision = Number(revision.slice(1));
      if (object.Size !== undefined) orphan.size = object.Size;
      images.push(orphan);
    }
    return images;
  }

  async publish(input: PublishInput): Promise<CloudImage> {
    const { bucket } = this.#config;
    const name = imageName(input.product, input.version, input.revision, input.format);
    const key = `${input.product}/${input.version}/r${input.revision}/${name}${extname(input.file)}`;
    const storage = `s3://${bucket}/${key}`;
    const signal = input.signal;
    await this.#ensureBucket(signal);
    const cleanup: (() => Promise<unknown>)[] = [];
    try {
      const upload = new Upload({
        client: this.#s3,
        params: {
          Bucket: bucket,
          Key: key,
          Body: createReadStream(input.file, { highWaterMark: 1 << 20 }),
          ContentLength: input.size,
          Metadata: { sha256: input.digests.sha256 },
        },
        partSize: S3_PART_SIZE,
        queueSize: 2,
        leavePartsOnError: false,
        abortController: abortControllerFor(signal),
      });
      upload.on('httpUploadProgress', (progress) => {
        if (progress.loaded !== undefined) input.onProgress(progress.loaded);
      });
      cleanup.push(() => this.#s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
      await this.#call(`upload ${key} to bucket ${bucket}`, () => upload.done());
      const head = await this.#call(`read ${key} back`, () =>
        this.#s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }),
      );
      const etag = (head.ETag ?? '').replaceAll('"', '');
      const want = etag.includes('-') ? input.digests.multipartEtag : input.digests.md5;
      if (head.ContentLength !== input.size || etag !== want) {
        throw new CloudError(
          this.name,
          `${storage} does not match the file: ${head.ContentLength} bytes with ETag ${etag}, the file ${input.size} bytes with ${want}`,
        );
      }
      const snapshotId = await this.#snapshot(key, input, cleanup);
      const registered = await this.#call(`register AMI ${name}`, () =>
        this.#ec2.send(
          registerImageCommand({
            name,
            description: `${input.product} ${input.version} r${input.revision} (${input.format}), sha256 ${input.digests.sha256}`,
            architecture: this.#config.architecture,
            snapshotId,
          }),
          { abortSignal: signal },
        ),
      );
      const imageId = registered.ImageId;
      if (imageId === undefined)
        throw new CloudError(this.name, `RegisterImage gave no image id for ${name}`);
      cleanup.push(() => this.#ec2.send(new DeregisterImageCommand({ ImageId: imageId })));
      const tags: Tag[] = [
        { Key: 'vmops', Value: 'yes' },
        { Key: TAG.product, Value: input.product },
        { Key: TAG.version, Value: input.version },
        { Key: TAG.revision, Value: String(input.revision) },
        { Key: TAG.format, Value: input.format },
        { Key: TAG.sha256, Value: input.digests.sha256 },
        { Key: TAG.job, Value: input.job },
        { Key: TAG.s3, Value: storage },
      ];
      await this.#call(`tag AMI ${imageId}`, () =>
        this.#ec2.send(new CreateTagsCommand({ Resources: [imageId, snapshotId], Tags: tags }), {
          abortSignal: signal,
        }),
      );
      const image = await this.#waitAvailable(imageId, signal);
      return { ...image, size: input.size };
    } catch (error) {
      // Nothing half-made stays: the AMI, its snapshot and the S3 object go, newest first.
      for (const undo of cleanup.reverse()) await undo().catch(() => undefined);
      throw error;
    }
  }

  async hide(image: CloudImage, supersededBy: number, signal: AbortSignal): Promise<void> {
    await this.#call(`tag AMI ${image.id} as superseded`, () =>
      this.#ec2.send(
        new CreateTagsCommand({
          Resources: [image.id],
          Tags: [{ Key: TAG.supersededBy, Value: String(supersededBy) }],
        }),
        { abortSignal: signal },
      ),
    );
    // The deprecation time makes EC2 consoles show it as deprecated; a cloud without the call still has the tag.
    const deprecateAt = new Date(Math.ceil((Date.now() + 60_000) / 60_000) * 60_000);
    await this.#ec2
      .send(new EnableImageDeprecationCommand({ ImageId: image.id, DeprecateAt: deprecateAt }), {
        abortSignal: signal,
      })
      .catch(() => undefined);
  }

  async remove(image: CloudImage, signal: AbortSignal): Promise<RemoveOutcome> {
    const done: string[] = [];
    if (image.id.startsWith('ami-')) {
      const described = await this.#call(`read AMI ${image.id}`, () =>
        this.#ec2.send(new DescribeImagesCommand({ ImageIds: [image.id] }), { abortSignal: signal }),
      );
      const ami = described.Images?.[0];
      await this.#call(`deregister AMI ${image.id}`, () =>
        this.#ec2.send(new DeregisterImageCommand({ ImageId: image.id }), { abortSignal: signal }),
      );
      done.push('deregistered');
      for (const mapping of ami?.BlockDeviceMappings ?? []) {
        const snapshotId = mapping.Ebs?.SnapshotId;
        if (snapshotId === undefined) continue;
        await this.#call(`delete snapshot ${snapshotId}`, () =>
          this.#ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }), { abortSignal: signal }),
        );
        done.push(`snapshot ${snapshotId} deleted`);
      }
    }
    const storage = image.storage;
    if (storage?.startsWith(`s3://${this.#config.bucket}/`)) {
      const key = storage.slice(`s3://${this.#config.bucket}/`.length);
      await this.#call(`delete ${storage}`, () =>
        this.#s3.send(new DeleteObjectCommand({ Bucket: this.#config.bucket, Key: key }), {
          abortSignal: signal,
        }),
      );
      done.push('S3 object deleted');
    }
    return { id: image.id, done };
  }

  async launch(
    image: CloudImage,
    userData: string,
    count: number,
    job: string,
    signal: AbortSignal,
  ): Promise<string[]> {
    const answer = await this.#call(`start ${count} instance(s) of ${image.id}`, () =>
      this.#ec2.send(
        new RunInstancesCommand({
          ImageId: image.id,
          MinCount: count,
          MaxCount: count,
          InstanceType: this.#config.instanceType as never,
          UserData: Buffer.from(userData).toString('base64'),
          TagSpecifications: [
            {
              ResourceType: 'instance',
              Tags: [
                { Key: TAG.launchedBy, Value: job },
                { Key: TAG.product, Value: image.product ?? '' },
                { Key: TAG.version, Value: image.version ?? '' },
              ],
            },
          ],
        }),
        { abortSignal: signal },
      ),
    );
    return (answer.Instances ?? []).map((instance) => instance.InstanceId ?? '').filter(Boolean);
  }

  async instances(image: CloudImage, signal: AbortSignal): Promise<CloudInstance[]> {
    const answer = await this.#call(`list the instances of ${image.id}`, () =>
      this.#ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'image-id', Values: [image.id] }] }), {
        abortSignal: signal,
      }),
    );
    const found: CloudInstance[] = [];
    for (const reservation of answer.Reservations ?? []) {
      for (const instance of reservation.Instances ?? []) {
        const state = instance.State?.Name ?? 'unknown';
        if (instance.InstanceId === undefined || state === 'terminated') continue;
        const item: CloudInstance = { id: instance.InstanceId, state };
        const by = tagOf(instance.Tags, TAG.launchedBy);
        if (by !== undefined) item.launchedBy = by;
        found.push(item);
      }
    }
    return found;
  }

  async terminate(ids: readonly string[], signal: AbortSignal): Promise<void> {
    if (ids.length === 0) return;
    await this.#call(`terminate ${ids.join(', ')}`, () =>
      this.#ec2.send(new TerminateInstancesCommand({ InstanceIds: [...ids] }), { abortSignal: signal }),
    );
  }

  async #ensureBucket(signal: AbortSignal): Promise<void> {
    const { bucket, region } = this.#config;
    await this.#call(`create bucket ${bucket}`, async () => {
      try {
        await this.#s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404)
          throw error;
        await this.#s3.send(
          new CreateBucketCommand({
            Bucket: bucket,
            ...(region === 'us-east-1'
              ? {}
              : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
          }),
          { abortSignal: signal },
        );
      }
    });
  }

  /** The snapshot the AMI boots from: imported from the S3 object, or (snapshot: volume) an empty volume's. */
  async #snapshot(key: string, input: PublishInput, cleanup: (() => Promise<unknown>)[]): Promise<string> {
    const signal = input.signal;
    let snapshotId: string | undefined;
    if (this.#config.snapshot === 'import') {
      const format = IMPORT_FORMAT[input.format] ?? 'RAW';
      const task = await this.#call(`import a snapshot of ${key}`, () =>
        this.#ec2.send(
          new ImportSnapshotCommand({
            Description: imageName(input.product, input.version, input.revision, input.format),
            DiskContainer: { Format: format, UserBucket: { S3Bucket: this.#config.bucket, S3Key: key } },
          }),
          { abortSignal: signal },
        ),
      );
      const taskId = task.ImportTaskId;
      while (snapshotId === undefined) {
        await sleep(POLL_MS, undefined, { signal });
        const answer = await this.#call(`follow snapshot import ${taskId}`, () =>
          this.#ec2.send(new DescribeImportSnapshotTasksCommand({ ImportTaskIds: taskId ? [taskId] : [] }), {
            abortSignal: signal,
          }),
        );
        const detail = answer.ImportSnapshotTasks?.[0]?.SnapshotTaskDetail;
        if (detail?.Status === 'completed') snapshotId = detail.SnapshotId;
        else if (detail?.Status === 'deleted' || detail?.Status === 'deleting') {
          throw new CloudError(
            this.name,
            `the snapshot import of ${key} failed: ${detail.StatusMessage ?? detail.Status}`,
          );
        }
      }
    } else {
      const zone = `${this.#config.region}a`;
      const volume = await this.#call('create a volume for the snapshot', () =>
        this.#ec2.send(
          new CreateVolumeCommand({ AvailabilityZone: zone, Size: Math.max(1, Math.ceil(input.size / GIB)) }),
          { abortSignal: signal },
        ),
      );
      const volumeId = volume.VolumeId;
      const snapshot = await this.#call(`snapshot volume ${volumeId}`, () =>
        this.#ec2.send(new CreateSnapshotCommand({ VolumeId: volumeId }), { abortSignal: signal }),
      );
      snapshotId = snapshot.SnapshotId;
      if (volumeId !== undefined)
        await this.#ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId })).catch(() => undefined);
    }
    if (snapshotId === undefined) throw new CloudError(this.name, `no snapshot was made of ${key}`);
    const id = snapshotId;
    cleanup.push(() => this.#ec2.send(new DeleteSnapshotCommand({ SnapshotId: id })));
    return id;
  }

  async #waitAvailable(imageId: string, signal: AbortSignal): Promise<CloudImage> {
    for (;;) {
      const answer = await this.#call(`read AMI ${imageId}`, () =>
        this.#ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }), { abortSignal: signal }),
      );
      const ami = answer.Images?.[0];
      if (ami === undefined)
        throw new CloudError(this.name, `AMI ${imageId} vanished after it was registered`);
      const image = this.#toCloudImage(ami);
      if (image.state === 'failed')
        throw new CloudError(this.name, `AMI ${imageId} is ${ami.State}: ${ami.StateReason?.Message ?? ''}`);
      if (image.state !== 'pending') return image;
      await sleep(POLL_MS, undefined, { signal });
    }
  }

  #toCloudImage(ami: Image): CloudImage {
    const status = ami.State ?? 'unknown';
    const superseded = tagOf(ami.Tags, TAG.supersededBy);
    const state: CloudImage['state'] =
      status === 'available'
        ? superseded === undefined
          ? 'offered'
          : 'hidden'
        : status === 'pending'
          ? 'pending'
          : status === 'disabled'
            ? 'deactivated'
            : 'failed';
    const image: CloudImage = { id: ami.ImageId ?? '', name: ami.Name ?? '', state, status };
    const product = tagOf(ami.Tags, TAG.product);
    const version = tagOf(ami.Tags, TAG.version);
    const revision = tagOf(ami.Tags, TAG.revision);
    const sha256 = tagOf(ami.Tags, TAG.sha256);
    const storage = tagOf(ami.Tags, TAG.s3);
    if (product !== undefined) image.product = product;
    if (version !== undefined) image.version = version;
    if (revision !== undefined && /^\d+$/.test(revision)) image.revision = Number(revision);
    if (sha256 !== undefined) image.sha256 = sha256;
    if (storage !== undefined) image.storage = storage;
    return image;
  }
}

/** RegisterImage for an HVM image booting from one EBS snapshot. */
function registerImageCommand(options: {
  name: string;
  description: string;
  architecture: 'x86_64' | 'arm64';
  snapshotId: string;
}): RegisterImageCommand {
  return new RegisterImageCommand({
    Name: options.name,
    Description: options.description,
    Architecture: options.architecture,
    RootDeviceName: '/dev/xvda',
    VirtualizationType: 'hvm',
    EnaSupport: true,
    BlockDeviceMappings: [
      { DeviceName: '/dev/xvda', Ebs: { SnapshotId: options.snapshotId, DeleteOnTermination: true } },
    ],
  });
}

/** An AbortController that follows the signal (lib-storage wants a controller). */
function abortControllerFor(signal: AbortSignal): AbortController {
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  return controller;
}
