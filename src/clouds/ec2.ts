// An EC2-API cloud (AWS, or any cloud that speaks its API) through the AWS SDK v3: the raw image goes
// to an S3 bucket (multipart, with its ETag checked against the file), an AMI is registered on a
// snapshot of it and tagged with vmops's facts; a superseded revision is tagged and given a
// deprecation time; removal deregisters the AMI, deletes its snapshot and the S3 object. Instances
// start with RunInstances and the rendered user-data. Beside it: ec2-session (the clients, errors),
// s3-upload (the checked upload), ec2-snapshot (snapshot, registration, the wait), ec2-tags (pure).
import { extname } from 'node:path';
import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type EC2Client,
  EnableImageDeprecationCommand,
  RunInstancesCommand,
  type Tag,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DeleteObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  type CloudDriver,
  CloudError,
  type CloudImage,
  type CloudInstance,
  imageName,
  type PublishInput,
  type RemoveOutcome,
} from './cloud-driver.ts';
import { type Ec2Config, type Ec2Session, openEc2Session } from './ec2-session.ts';
import { makeSnapshot, registerImageCommand, waitAvailable } from './ec2-snapshot.ts';
import { amiImage, orphanImage, TAG, tagOf } from './ec2-tags.ts';
import { ensureBucket, uploadChecked } from './s3-upload.ts';

export class Ec2Cloud implements CloudDriver {
  readonly name: string;
  readonly driver = 'ec2';
  readonly format: string;
  readonly canLaunch = true;
  readonly #config: Ec2Config;
  readonly #ec2: EC2Client;
  readonly #s3: S3Client;
  readonly #cloud: Ec2Session;

  constructor(name: string, config: Ec2Config) {
    this.name = name;
    this.format = config.format;
    this.#config = config;
    this.#cloud = openEc2Session(name, config);
    this.#ec2 = this.#cloud.ec2;
    this.#s3 = this.#cloud.s3;
  }

  /** Runs one SDK call; a failure becomes a CloudError naming the cloud and what the cloud said. */
  #call<T>(doing: string, run: () => Promise<T>): Promise<T> {
    return this.#cloud.call(doing, run);
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
    const images = (answer.Images ?? []).map((image) => amiImage(image));
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
      images.push(orphanImage(this.#config.bucket, { Key: object.Key, Size: object.Size }));
    }
    return images;
  }

  async publish(input: PublishInput): Promise<CloudImage> {
    const { bucket } = this.#config;
    const name = imageName(input.product, input.version, input.revision, input.format);
    const key = `${input.product}/${input.version}/r${input.revision}/${name}${extname(input.file)}`;
    const storage = `s3://${bucket}/${key}`;
    const signal = input.signal;
    await ensureBucket(this.#cloud, signal);
    const cleanup: (() => Promise<unknown>)[] = [];
    try {
      await uploadChecked(this.#cloud, key, input, cleanup);
      const snapshotId = await makeSnapshot(this.#cloud, key, input, cleanup);
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
      const image = await waitAvailable(this.#cloud, imageId, signal);
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
}
