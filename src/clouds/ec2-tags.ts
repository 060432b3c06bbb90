// What vmops writes on the AMIs and instances of an EC2-API cloud (tags under `vmops:`) and how an
// AMI, or an S3 object that no AMI uses, reads back as a CloudImage. Pure.
import type { Image, Tag } from '@aws-sdk/client-ec2';
import type { CloudImage } from './cloud-driver.ts';

export const TAG = {
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

export const tagOf = (tags: Tag[] | undefined, key: string): string | undefined =>
  tags?.find((tag) => tag.Key === key)?.Value;

/** An AMI as vmops sees it: state from EC2's and the superseded tag, the facts from the tags. */
export function amiImage(ami: Image): CloudImage {
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

/** An image file in the bucket (`product/version/rN/name`) that no AMI uses: an upload never registered. */
export function orphanImage(bucket: string, object: { Key: string; Size?: number | undefined }): CloudImage {
  const storage = `s3://${bucket}/${object.Key}`;
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
  return orphan;
}
