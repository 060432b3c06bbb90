// Which file a cloud step uploads, and which revision it is.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { currentRevision, publishedFile } from '../../../src/clouds/published-image.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function downloads(index: unknown, updates?: unknown): string {
  dir = mkdtempSync(join(tmpdir(), 'vmops-published-'));
  mkdirSync(join(dir, 'cernvm', '2.6'), { recursive: true });
  writeFileSync(join(dir, 'cernvm', 'index.json'), JSON.stringify(index));
  if (updates !== undefined)
    writeFileSync(join(dir, 'cernvm', '2.6', 'updates.json'), JSON.stringify(updates));
  return dir;
}

const files = [
  { name: 'cernvm-2.6-kvm.packages.tsv', sha256: 'b'.repeat(64) },
  { name: 'cernvm-2.6-kvm.qcow2', sha256: 'a'.repeat(64) },
];

describe('published images', () => {
  it('picks the disk of the format, not its manifest, and names what is published when it is missing', () => {
    const root = downloads({ versions: { '2.6': { formats: { kvm: { files } } } } });
    expect(publishedFile(root, 'cernvm', '2.6', 'kvm')).toEqual({
      path: join(root, 'cernvm', '2.6', 'cernvm-2.6-kvm.qcow2'),
      name: 'cernvm-2.6-kvm.qcow2',
      sha256: 'a'.repeat(64),
    });
    expect(() => publishedFile(root, 'cernvm', '2.6', 'ec2')).toThrow(
      'cernvm 2.6 has no published ec2 image (published: kvm): publish cernvm 2.6 ec2 first',
    );
  });

  it('takes the revision the index serves, else the stand-in recipe updates, else 0', () => {
    expect(
      currentRevision(downloads({ versions: { '2.6': { revision: 2, formats: {} } } }), 'cernvm', '2.6'),
    ).toBe(2);
    rmSync(dir, { recursive: true, force: true });
    expect(
      currentRevision(
        downloads({ versions: { '2.6': { formats: { kvm: { revision: 1, files } } } } }),
        'cernvm',
        '2.6',
      ),
    ).toBe(1);
    rmSync(dir, { recursive: true, force: true });
    expect(
      currentRevision(
        downloads({ versions: { '2.6': { formats: { kvm: { files } } } } }, { latest: 3 }),
        'cernvm',
        '2.6',
      ),
    ).toBe(3);
    rmSync(dir, { recursive: true, force: true });
    expect(currentRevision(downloads({ versions: {} }), 'cernvm', '2.6')).toBe(0);
  });
});
