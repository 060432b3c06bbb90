// Real clouds through the bot: a real OpenStack Glance and a real moto_server (EC2 + S3) on loopback.
// deploy, update and revoke are typed as chat commands; the clouds are then read back with their own
// APIs (plain HTTP to Glance, the AWS SDK to moto), never through vmops, to prove the state.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import {
  DescribeImagesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../config/schema.ts';
import { freePort } from '../../src/redis/free-port.ts';
import { type Engine, realConfig, sayAndWait, startEngine } from '../helpers/engine.ts';
import { type Glance, startGlance } from '../helpers/glance.ts';
import { type Moto, startMoto } from '../helpers/moto.ts';

let glance: Glance;
let moto: Moto;
let engine: Engine | undefined;

beforeAll(async () => {
  [glance, moto] = await Promise.all([startGlance(), startMoto()]);
}, 120_000);
afterAll(async () => {
  await Promise.all([glance?.stop(), moto?.stop()]);
});
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

const SECRET = 'moto-secret-key-never-shown';

function cloudConfig(dir: string, edit?: (config: Config) => void): Config {
  const template = join(dir, 'user-data.yaml');
  writeFileSync(
    template,
    '#cloud-config\nvmops:\n  product: {{product}}\n  version: {{version}}\n  owner: {{owner}}\nruncmd:\n  - [echo, {{cloud}}]\n',
  );
  return realConfig((config) => {
    config.policy.approvals.revoke = false;
    config.clouds.openstack = {
      driver: 'glance',
      description: '',
      tags: [],
      format: 'kvm',
      endpoint: glance.url,
      visibility: 'public',
      properties: { os_distro: 'debian' },
      timeout: 30_000,
    };
    config.clouds.aws = {
      driver: 'ec2',
      description: '',
      tags: [],
      format: 'kvm',
      region: 'us-east-1',
      endpoint: moto.url,
      bucket: 'vmops-images',
      forcePathStyle: true,
      accessKeyId: 'moto-access-key',
      secretAccessKey: SECRET,
      snapshot: 'volume',
      architecture: 'x86_64',
      instanceType: 't3.micro',
      timeout: 30_000,
      userData: template,
    };
    edit?.(config);
  });
}

const say = (text: string, account = 'alice') => sayAndWait(engine, text, account);

interface GlanceImage {
  id: string;
  status: string;
  os_hidden: boolean;
  checksum: string;
  os_hash_value: string;
  size: number;
  [key: string]: unknown;
}

/** Every image of cernvm in Glance, hidden ones too, straight from its API. */
async function glanceImages(): Promise<GlanceImage[]> {
  const images: GlanceImage[] = [];
  for (const hidden of ['false', 'true']) {
    const response = await fetch(`${glance.url}/v2/images?vmops_product=cernvm&os_hidden=${hidden}`);
    images.push(...((await response.json()) as { images: GlanceImage[] }).images);
  }
  return images.sort((a, b) => String(a.vmops_revision).localeCompare(String(b.vmops_revision)));
}

const aws = () => {
  const options = {
    region: 'us-east-1',
    endpoint: moto.url,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  };
  return { ec2: new EC2Client(options), s3: new S3Client({ ...options, forcePathStyle: true }) };
};

const tag = (tags: { Key?: string | undefined; Value?: string | undefined }[] | undefined, key: string) =>
  tags?.find((t) => t.Key === key)?.Value;

describe('real clouds through the bot', () => {
  it('deploys, updates and revokes on Glance and EC2, and the clouds show it', async () => {
    engine = await startEngine({ config: cloudConfig(glance.dir) });
    for (const stage of ['build', 'test', 'publish']) {
      expect((await say(`${stage} 2.6 kvm`)).reply).toMatch(new RegExp(`^✅ ${stage} cernvm 2\\.6 kvm`));
    }
    const file = join(engine.dataDir, 'downloads', 'cernvm', '2.6', 'cernvm-2.6-kvm.qcow2');
    const bytes = readFileSync(file);
    const md5 = createHash('md5').update(bytes).digest('hex');
    const sha512 = createHash('sha512').update(bytes).digest('hex');
    const sha256 = createHash('sha256').update(bytes).digest('hex');

    // --launch on a cloud without compute, and a template without its value: refused before any job.
    expect((await say('deploy 2.6 openstack --launch 1')).reply).toContain(
      'cloud openstack (glance) cannot start instances: --launch works on ec2 clouds (aws). Nothing was queued.',
    );
    expect((await say('deploy 2.6 aws --launch 1')).reply).toContain('uses owner, which has no value');
    expect(await glanceImages()).toEqual([]);

    const deployed = await say('deploy 2.6 openstack');
    expect(deployed.reply).toMatch(/^✅ deploy cernvm 2\.6 openstack · job \S+ · succeeded/);
    expect(deployed.reply).toMatch(
      /cernvm 2\.6 uploaded to openstack as image [0-9a-f-]{36} \(.+, checksum verified\)/,
    );
    const [first, ...none] = await glanceImages();
    expect(none).toEqual([]);
    expect(first).toMatchObject({
      status: 'active',
      os_hidden: false,
      disk_format: 'qcow2',
      visibility: 'public',
      size: bytes.length,
      checksum: md5,
      os_hash_value: sha512,
      vmops_product: 'cernvm',
      vmops_version: '2.6',
      vmops_revision: '0',
      vmops_sha256: sha256,
      os_distro: 'debian',
    });
    expect(deployed.reply).toContain(first?.id);

    const again = await say('deploy 2.6 openstack');
    expect(again.reply).toContain(
      `cernvm 2.6 is already on openstack (image ${first?.id}): nothing uploaded`,
    );
    expect(await glanceImages()).toHaveLength(1);

    const launched = await say('deploy 2.6 aws --launch 1 --context owner=alice');
    expect(launched.reply).toMatch(
      /^✅ deploy cernvm 2\.6 aws .*uploaded to aws as image ami-\w+ .*started i-\w+/,
    );
    const { ec2, s3 } = aws();
    const amis = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    expect(amis).toHaveLength(1);
    const ami = amis[0];
    expect(tag(ami?.Tags, 'vmops:version')).toBe('2.6');
    expect(tag(ami?.Tags, 'vmops:sha256')).toBe(sha256);
    const objects = (await s3.send(new ListObjectsV2Command({ Bucket: 'vmops-images' }))).Contents ?? [];
    expect(objects.map((o) => [o.Key, o.Size, o.ETag])).toEqual([
      ['cernvm/2.6/r0/cernvm-2.6-r0-kvm.qcow2', bytes.length, `"${md5}"`],
    ]);
    const instances = (
      await ec2.send(
        new DescribeInstancesCommand({ Filters: [{ Name: 'image-id', Values: [ami?.ImageId ?? ''] }] }),
      )
    ).Reservations?.flatMap((r) => r.Instances ?? []);
    expect(instances).toHaveLength(1);
    const userData = await ec2.send(
      new DescribeInstanceAttributeCommand({
        InstanceId: instances?.[0]?.InstanceId ?? '',
        Attribute: 'userData',
      }),
    );
    expect(Buffer.from(userData.UserData?.Value ?? '', 'base64').toString()).toBe(
      '#cloud-config\nvmops:\n  product: "cernvm"\n  version: "2.6"\n  owner: "alice"\nruncmd:\n  - [echo, "aws"]\n',
    );

    // The catalog has the clouds' image ids; `clouds` reads the clouds themselves.
    const images = (await say('images 2.6')).reply;
    expect(images).toContain('deployed on aws, openstack');
    const clouds = (await say('clouds 2.6')).reply;
    expect(clouds).toContain(`openstack (glance, kvm):\n  cernvm 2.6 · offered · ${first?.id}`);
    expect(clouds).toContain(`aws (ec2, kvm):\n  cernvm 2.6 · offered · ${ami?.ImageId}`);

    const recorded = async () =>
      Object.fromEntries(
        ((await engine?.core.catalog.deployments?.('cernvm', '2.6')) ?? []).map((d) => [
          d.cloud,
          d.images.map((i) => [i.id, i.revision, i.state]),
        ]),
      );
    expect(await recorded()).toEqual({
      aws: [[ami?.ImageId, 0, 'offered']],
      openstack: [[first?.id, 0, 'offered']],
    });

    // update: r1 goes to both clouds, r0 is hidden (Glance) or tagged and deprecated (EC2).
    const updated = await say('update 2.6');
    expect(updated.reply).toMatch(/^✅ update cernvm 2\.6/);
    expect(updated.reply).toMatch(
      new RegExp(`openstack: r1 uploaded as image [0-9a-f-]{36}, r0 \\(${first?.id}\\) hidden`),
    );
    expect(updated.reply).toMatch(
      new RegExp(`aws: r1 uploaded as image ami-\\w+, r0 \\(${ami?.ImageId}\\) hidden`),
    );
    const afterUpdate = await glanceImages();
    expect(afterUpdate.map((i) => [i.vmops_revision, i.status, i.os_hidden])).toEqual([
      ['0', 'active', true],
      ['1', 'active', false],
    ]);
    const amisAfterUpdate = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    expect(
      amisAfterUpdate.map((i) => [tag(i.Tags, 'vmops:revision'), tag(i.Tags, 'vmops:superseded-by')]).sort(),
    ).toEqual([
      ['0', '1'],
      ['1', undefined],
    ]);

    const second = afterUpdate[1]?.id;
    expect((await recorded()).openstack).toEqual([
      [first?.id, 0, 'hidden'],
      [second, 1, 'offered'],
    ]);

    // revoke: nothing of the version is left in either cloud; the instance goes with --terminate.
    const revoked = await say('revoke 2.6 --reason obsolete --terminate');
    expect(revoked.reply).toMatch(/^✅ revoke cernvm 2\.6/);
    expect(revoked.reply).toMatch(/openstack: 2 image\(s\) deactivated and deleted/);
    expect(revoked.reply).toMatch(/aws: 2 image\(s\) deactivated and deleted .*terminated i-\w+/);
    expect(await glanceImages()).toEqual([]);
    expect((await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []).toEqual([]);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: 'vmops-images' }))).Contents ?? []).toEqual([]);
    const states = (await ec2.send(new DescribeInstancesCommand({}))).Reservations?.flatMap((r) =>
      (r.Instances ?? []).map((i) => i.State?.Name),
    );
    expect(states?.every((s) => s === 'terminated' || s === 'shutting-down')).toBe(true);
    expect((await say('clouds 2.6')).reply).toContain('openstack (glance, kvm): nothing of cernvm 2.6');
    expect((await recorded()).openstack).toEqual([
      [first?.id, 0, 'removed'],
      [second, 1, 'removed'],
    ]);

    // The EC2 secret never reached a reply.
    expect(JSON.stringify(engine.chat.sent)).not.toContain(SECRET);
  }, 240_000);

  it('fails a deploy naming the cloud and the error, and leaves no half-uploaded image', async () => {
    // A proxy in front of Glance that cuts every image upload off half-way, and a cloud that is down.
    const proxyPort = await freePort();
    const target = new URL(glance.url);
    const proxy: Server = createServer((req, res) => {
      const upstream = request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      if (req.method === 'PUT' && req.url?.endsWith('/file')) {
        let seen = 0;
        req.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > 100_000) {
            upstream.destroy();
            req.socket.destroy();
          }
        });
      }
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(proxyPort, '127.0.0.1', resolve));
    const downPort = await freePort();
    // A Glance that answers every request with an error: 503 (overloaded), or 401 (wrong token).
    const answering = createServer((req, res) => {
      const status = req.headers['x-auth-token'] === 'wrong-token' ? 401 : 503;
      res.writeHead(status, { 'content-type': 'text/html' });
      res.end(`<html><body><h1>${status}</h1>try later</body></html>`);
    });
    const answeringPort = await freePort();
    await new Promise<void>((resolve) => answering.listen(answeringPort, '127.0.0.1', resolve));
    try {
      engine = await startEngine({
        config: cloudConfig(glance.dir, (config) => {
          const openstack = config.clouds.openstack;
          if (openstack?.driver !== 'glance') throw new Error('no glance cloud');
          config.clouds.flaky = { ...openstack, endpoint: `http://127.0.0.1:${proxyPort}` };
          config.clouds.down = { ...openstack, endpoint: `http://127.0.0.1:${downPort}` };
          config.clouds.busy = { ...openstack, endpoint: `http://127.0.0.1:${answeringPort}` };
          config.clouds.locked = {
            ...openstack,
            endpoint: `http://127.0.0.1:${answeringPort}`,
            token: 'wrong-token',
          };
        }),
      });
      for (const stage of ['build', 'test', 'publish']) await say(`${stage} 2.6 kvm`);

      const down = await say('deploy 2.6 down');
      expect(down.reply).toMatch(/^❌ deploy cernvm 2\.6 down · job \S+ · failed/);
      expect(down.reply).toContain(
        `cloud down: could not list images (checking the endpoint and credentials): http://127.0.0.1:${downPort} did not answer: ECONNREFUSED`,
      );

      const busy = await say('deploy 2.6 busy');
      expect(busy.reply).toContain(
        'cloud busy: could not list images (checking the endpoint and credentials): HTTP 503 Service Unavailable: 503 try later',
      );
      const locked = await say('deploy 2.6 locked');
      expect(locked.reply).toContain(
        'cloud locked: could not list images (checking the endpoint and credentials): HTTP 401 Unauthorized (are the credentials right?)',
      );
      expect(JSON.stringify(engine.chat.sent)).not.toContain('wrong-token');

      const flaky = await say('deploy 2.6 flaky');
      expect(flaky.reply).toMatch(/^❌ deploy cernvm 2\.6 flaky · job \S+ · failed/);
      expect(flaky.reply).toMatch(/cloud flaky: could not upload image [0-9a-f-]{36}: /);
      // The queued/saving image the cut-off upload left was deleted.
      expect(await glanceImages()).toEqual([]);
      expect((await say('clouds 2.6')).reply).toContain('flaky (glance, kvm): nothing of cernvm 2.6');
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
      await new Promise((resolve) => answering.close(resolve));
    }
  }, 240_000);
});
