// The console's images page shows where each version is deployed, with the clouds' image ids.
import { describe, expect, it } from 'vitest';
import { imagesBody } from '../../../src/web/pages/images.ts';

describe('images page deployments', () => {
  it('lists per cloud the image ids, revisions and states, escaped', () => {
    const body = String(
      imagesBody([
        {
          product: 'cernvm',
          versions: [
            {
              product: 'cernvm',
              version: '2.6',
              images: [],
              clouds: ['aws', 'openstack'],
              updates: 1,
              deployments: [
                {
                  cloud: 'openstack',
                  driver: 'glance',
                  images: [
                    { id: 'b1c2-0', revision: 0, state: 'hidden', job: 'j1', at: 1 },
                    { id: 'b1c2-1', revision: 1, state: 'offered', job: 'j2', at: 2 },
                  ],
                  launched: [],
                  last: 'update (job j2): openstack: r1 uploaded as image b1c2-1, r0 (b1c2-0) hidden',
                  updatedAt: 2,
                },
                {
                  cloud: 'aws',
                  driver: 'ec2',
                  images: [{ id: 'ami-<x>', revision: 0, state: 'offered', job: 'j3', at: 3 }],
                  launched: ['i-123'],
                  last: 'deploy (job j3)',
                  updatedAt: 3,
                },
              ],
            },
          ],
        },
      ]),
    );
    expect(body).toContain('<strong>openstack</strong> <span class="meta">glance</span>');
    expect(body).toContain(
      '<code class="cloud-image">b1c2-0</code> <span class="meta">r0</span> <span class="badge cloud-hidden">hidden</span>',
    );
    expect(body).toContain(
      '<code class="cloud-image">b1c2-1</code> <span class="meta">r1</span> <span class="badge cloud-offered">offered</span>',
    );
    expect(body).toContain('ami-&lt;x&gt;');
    expect(body).toContain('launched: i-123');
  });
});
