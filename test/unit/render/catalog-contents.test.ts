// `images <version>` for an appliance: what is inside each image (packages, kernel, manifest) and the
// revisions `update` made.
import { describe, expect, it } from 'vitest';
import type { VersionRecord } from '../../../src/catalog/catalog.ts';
import { versionDetail, versionLine } from '../../../src/render/catalog.ts';

const at = Date.UTC(2026, 11, 6, 18, 30);
const version: VersionRecord = {
  product: 'cernvm',
  version: '2.5',
  clouds: [],
  updates: 1,
  images: [
    {
      product: 'cernvm',
      version: '2.5',
      format: 'kvm',
      state: 'published',
      job: 'upd1',
      by: 'alice',
      updatedAt: at,
      artifacts: [{ path: '/d/cernvm-2.5-r1-kvm.qcow2', size: 150 * 1024 * 1024, sha256: 'ab'.repeat(32) }],
      kernel: '6.1.0-57-cloud-amd64',
      packages: 186,
      manifest: 'cernvm-2.5-r1-kvm.packages.tsv',
      revision: 1,
    },
  ],
  revisions: [
    {
      revision: 1,
      state: 'published',
      job: 'upd1',
      by: 'alice',
      at,
      formats: ['kvm'],
      changes: [{ name: 'tzdata', from: '2025b-0+deb12u1', to: '2026f-0+deb12u1' }],
    },
  ],
};

describe('images for an appliance', () => {
  it('shows the packages, the kernel, the manifest, the revision and its changes', () => {
    expect(versionDetail(version)).toBe(
      [
        'cernvm 2.5 · 1 update · serving r1',
        '  kvm        published r1 job upd1 by alice, 2026-12-06 18:30',
        '             186 packages · kernel 6.1.0-57-cloud-amd64 · manifest cernvm-2.5-r1-kvm.packages.tsv',
        `             cernvm-2.5-r1-kvm.qcow2  150.0 MB  sha256 ${'ab'.repeat(8)}…`,
        '  r1 published job upd1 by alice, 2026-12-06 18:30: 1 package changed: tzdata 2025b-0+deb12u1 → 2026f-0+deb12u1',
      ].join('\n'),
    );
    expect(versionLine(version)).toBe('cernvm 2.5 · kvm published · 1 update · serving r1');
  });
});
