// An AMI's making on an EC2-API cloud, after the upload: the snapshot it boots from (imported from the
// S3 object, or, with `snapshot: volume`, an empty volume's for clouds that cannot import), its
// registration as an HVM image, and the wait until EC2 says it is available.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DeleteSnapshotCommand,
  DeleteVolumeCommand,
  DescribeImagesCommand,
  DescribeImportSnapshotTasksCommand,
  ImportSnapshotCommand,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import { CloudError, type CloudImage, imageName, type PublishInput } from './cloud-driver.ts';
import type { Ec2Session } from './ec2-session.ts';
import { amiImage } from './ec2-tags.ts';

const GIB = 1024 ** 3;
const POLL_MS = 2000;
const IMPORT_FORMAT: Record<string, string> = { ec2: 'RAW', xen: 'RAW', vmware: 'VMDK', hyperv: 'VHDX' };

/** The snapshot the AMI boots from: imported from the S3 object, or (snapshot: volume) an empty volume's. */
export async function makeSnapshot(
  cloud: Ec2Session,
  key: string,
  input: PublishInput,
  cleanup: (() => Promise<unknown>)[],
): Promise<string> {
  const signal = input.signal;
  let snapshotId: string | undefined;
  if (cloud.config.snapshot === 'import') {
    const format = IMPORT_FORMAT[input.format] ?? 'RAW';
    const task = await cloud.call(`import a snapshot of ${key}`, () =>
      cloud.ec2.send(
        new ImportSnapshotCommand({
          Description: imageName(input.product, input.version, input.revision, input.format),
          DiskContainer: { Format: format, UserBucket: { S3Bucket: cloud.config.bucket, S3Key: key } },
        }),
        { abortSignal: signal },
      ),
    );
    const taskId = task.ImportTaskId;
    while (snapshotId === undefined) {
      await sleep(POLL_MS, undefined, { signal });
      const answer = await cloud.call(`follow snapshot import ${taskId}`, () =>
        cloud.ec2.send(new DescribeImportSnapshotTasksCommand({ ImportTaskIds: taskId ? [taskId] : [] }), {
          abortSignal: signal,
        }),
      );
      const detail = answer.ImportSnapshotTasks?.[0]?.SnapshotTaskDetail;
      if (detail?.Status === 'completed') snapshotId = detail.SnapshotId;
      else if (detail?.Status === 'deleted' || detail?.Status === 'deleting') {
        throw new CloudError(
          cloud.name,
          `the snapshot import of ${key} failed: ${detail.StatusMessage ?? detail.Status}`,
        );
      }
    }
  } else {
    const zone = `${cloud.config.region}a`;
    const volume = await cloud.call('create a volume for the snapshot', () =>
      cloud.ec2.send(
        new CreateVolumeCommand({ AvailabilityZone: zone, Size: Math.max(1, Math.ceil(input.size / GIB)) }),
        { abortSignal: signal },
      ),
    );
    const volumeId = volume.VolumeId;
    const snapshot = await cloud.call(`snapshot volume ${volumeId}`, () =>
      cloud.ec2.send(new CreateSnapshotCommand({ VolumeId: volumeId }), { abortSignal: signal }),
    );
    snapshotId = snapshot.SnapshotId;
    if (volumeId !== undefined)
      await cloud.ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId })).catch(() => undefined);
  }
  if (snapshotId === undefined) throw new CloudError(cloud.name, `no snapshot was made of ${key}`);
  const id = snapshotId;
  cleanup.push(() => cloud.ec2.send(new DeleteSnapshotCommand({ SnapshotId: id })));
  return id;
}

/** Polls the AMI until it is no longer pending; a failed one is an error. */
export async function waitAvailable(
  cloud: Ec2Session,
  imageId: string,
  signal: AbortSignal,
): Promise<CloudImage> {
  for (;;) {
    const answer = await cloud.call(`read AMI ${imageId}`, () =>
      cloud.ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }), { abortSignal: signal }),
    );
    const ami = answer.Images?.[0];
    if (ami === undefined)
      throw new CloudError(cloud.name, `AMI ${imageId} vanished after it was registered`);
    const image = amiImage(ami);
    if (image.state === 'failed')
      throw new CloudError(cloud.name, `AMI ${imageId} is ${ami.State}: ${ami.StateReason?.Message ?? ''}`);
    if (image.state !== 'pending') return image;
    await sleep(POLL_MS, undefined, { signal });
  }
}

/** RegisterImage for an HVM image booting from one EBS snapshot. */
export function registerImageCommand(options: {
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
