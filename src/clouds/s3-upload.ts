// An image file into the EC2-API cloud's S3 bucket: the bucket made when missing, a multipart upload
// that follows the job's cancel signal and reports progress, then the object read back and its size
// and ETag (MD5, or the multipart ETag) compared with the file's.
import { createReadStream } from 'node:fs';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { CloudError, type PublishInput } from './cloud-driver.ts';
import type { Ec2Session } from './ec2-session.ts';
import { S3_PART_SIZE } from './file-digests.ts';

export async function ensureBucket(cloud: Ec2Session, signal: AbortSignal): Promise<void> {
  const { bucket, region } = cloud.config;
  await cloud.call(`create bucket ${bucket}`, async () => {
    try {
      await cloud.s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404)
        throw error;
      await cloud.s3.send(
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

/** Uploads the file as `key` and checks it arrived whole; its removal goes on `cleanup` first. */
export async function uploadChecked(
  cloud: Ec2Session,
  key: string,
  input: PublishInput,
  cleanup: (() => Promise<unknown>)[],
): Promise<void> {
  const { bucket } = cloud.config;
  const storage = `s3://${bucket}/${key}`;
  const signal = input.signal;
  const upload = new Upload({
    client: cloud.s3,
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
  cleanup.push(() => cloud.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
  await cloud.call(`upload ${key} to bucket ${bucket}`, () => upload.done());
  const head = await cloud.call(`read ${key} back`, () =>
    cloud.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }),
  );
  const etag = (head.ETag ?? '').replaceAll('"', '');
  const want = etag.includes('-') ? input.digests.multipartEtag : input.digests.md5;
  if (head.ContentLength !== input.size || etag !== want) {
    throw new CloudError(
      cloud.name,
      `${storage} does not match the file: ${head.ContentLength} bytes with ETag ${etag}, the file ${input.size} bytes with ${want}`,
    );
  }
}

/** An AbortController that follows the signal (lib-storage wants a controller). */
function abortControllerFor(signal: AbortSignal): AbortController {
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  return controller;
}
