// Reads an image file once and computes what the clouds report back: md5 and sha512 (Glance's
// checksum and os_hash_value), sha256 (ours), and the S3 multipart ETag for a part size.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FileDigests } from './cloud-driver.ts';

/** Multipart part size of S3 uploads: the ETag of a multipart object depends on it. */
export const S3_PART_SIZE = 8 * 1024 * 1024;

export async function fileDigests(path: string, partSize: number): Promise<FileDigests & { size: number }> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  const sha512 = createHash('sha512');
  const partMd5s: Buffer[] = [];
  let part = createHash('md5');
  let inPart = 0;
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    md5.update(chunk);
    sha256.update(chunk);
    sha512.update(chunk);
    size += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(partSize - inPart, chunk.length - offset);
      part.update(chunk.subarray(offset, offset + take));
      inPart += take;
      offset += take;
      if (inPart === partSize) {
        partMd5s.push(part.digest());
        part = createHash('md5');
        inPart = 0;
      }
    }
  }
  if (inPart > 0) partMd5s.push(part.digest());
  const digests: FileDigests & { size: number } = {
    md5: md5.digest('hex'),
    sha256: sha256.digest('hex'),
    sha512: sha512.digest('hex'),
    partSize,
    size,
  };
  if (partMd5s.length > 1) {
    digests.multipartEtag = `${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-${partMd5s.length}`;
  }
  return digests;
}
