// The OpenStack image service (Glance v2 API over HTTP): create an image record with its disk and
// container format and vmops's properties, upload the file, check the checksums Glance computed
// (md5 `checksum`, sha512 `os_hash_value`), hide a superseded revision (`os_hidden`), deactivate and
// delete. A Glance has no compute service: launching is refused. Keystone: a token from config, or
// a password login (v3) made once per driver.
import { createReadStream } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { CloudConfig } from '../../config/schema.ts';
import { VmopsError } from '../errors.ts';
import {
  type CloudDriver,
  CloudError,
  type CloudImage,
  type CloudInstance,
  imageName,
  type PublishInput,
  type RemoveOutcome,
} from './cloud-driver.ts';
import { httpCall, networkReason, shortBody } from './http-call.ts';

type GlanceConfig = Extract<CloudConfig, { driver: 'glance' }>;

/** Glance's disk_format for each vmops format. */
const DISK_FORMAT: Record<string, string> = {
  kvm: 'qcow2',
  xen: 'raw',
  ec2: 'raw',
  vmware: 'vmdk',
  virtualbox: 'vdi',
  hyperv: 'vhdx',
};

/** Glance statuses of an upload that has not finished. */
const UNFINISHED = new Set(['queued', 'saving', 'uploading', 'importing']);
const PATCH_TYPE = 'application/openstack-images-v2.1-json-patch';

interface GlanceImage {
  id: string;
  name: string | null;
  status: string;
  os_hidden?: boolean;
  size?: number | null;
  checksum?: string | null;
  os_hash_algo?: string | null;
  os_hash_value?: string | null;
  [property: string]: unknown;
}

export class GlanceCloud implements CloudDriver {
  readonly name: string;
  readonly driver = 'glance';
  readonly format: string;
  readonly canLaunch = false;
  readonly #config: GlanceConfig;
  #token: string | undefined;

  constructor(name: string, config: GlanceConfig) {
    this.name = name;
    this.format = config.format;
    this.#config = config;
    this.#token = config.token;
  }

  async check(signal: AbortSignal): Promise<void> {
    await this.#json(
      'GET',
      '/v2/images?limit=1',
      'list images (checking the endpoint and credentials)',
      signal,
    );
  }

  async list(filter: { product?: string; version?: string }, signal: AbortSignal): Promise<CloudImage[]> {
    const query = new URLSearchParams({ limit: '200' });
    if (filter.product !== undefined) query.set('vmops_product', filter.product);
    else query.set('tag', 'vmops');
    if (filter.version !== undefined) query.set('vmops_version', filter.version);
    const images: GlanceImage[] = [];
    // Hidden images are left out of a listing unless asked for: ask for both.
    for (const hidden of ['false', 'true']) {
      query.set('os_hidden', hidden);
      let next: string | undefined = `/v2/images?${query}`;
      while (next !== undefined) {
        const page = (await this.#json('GET', next, 'list images', signal)) as {
          images: GlanceImage[];
          next?: string;
        };
        images.push(...page.images);
        next = page.next;
      }
    }
    return images.map((image) => this.#toCloudImage(image));
  }

  async publish(input: PublishInput): Promise<CloudImage> {
    const diskFormat = DISK_FORMAT[input.format] ?? 'raw';
    const created = (await this.#json(
      'POST',
      '/v2/images',
      'create the image',
      input.signal,
      JSON.stringify({
        ...this.#config.properties,
        name: imageName(input.product, input.version, input.revision, input.format),
        disk_format: diskFormat,
        container_format: 'bare',
        visibility: this.#config.visibility,
        tags: ['vmops'],
        vmops_product: input.product,
        vmops_version: input.version,
        vmops_revision: String(input.revision),
        vmops_format: input.format,
        vmops_sha256: input.digests.sha256,
        vmops_job: input.job,
      }),
    )) as GlanceImage;
    try {
      await this.#upload(created.id, input);
      const image = (await this.#json(
        'GET',
        `/v2/images/${created.id}`,
        'read the image back',
        input.signal,
      )) as GlanceImage;
      if (image.status !== 'active') {
        throw new CloudError(
          this.name,
          `image ${created.id} is ${image.status} after the upload, not active`,
        );
      }
      if (image.size !== input.size) {
        throw new CloudError(
          this.name,
          `image ${created.id} has ${image.size} bytes, the file ${input.size}`,
        );
      }
      const checks: [string, string | null | undefined, string][] = [
        ['checksum (md5)', image.checksum, input.digests.md5],
      ];
      if (image.os_hash_algo === 'sha512')
        checks.push(['os_hash_value (sha512)', image.os_hash_value, input.digests.sha512]);
      for (const [what, got, want] of checks) {
        if (got !== want) {
          throw new CloudError(
            this.name,
            `image ${created.id}: the ${what} Glance computed, ${got}, is not the file's ${want}`,
          );
        }
      }
      return this.#toCloudImage(image);
    } catch (error) {
      // A half-uploaded image (queued or saving) must not stay: delete it, whatever went wrong.
      await this.#json(
        'DELETE',
        `/v2/images/${created.id}`,
        'delete the incomplete image',
        AbortSignal.timeout(this.#config.timeout),
        undefined,
        [404],
      ).catch(() => undefined);
      throw error;
    }
  }

  async hide(image: CloudImage, supersededBy: number, signal: AbortSignal): Promise<void> {
    await this.#json(
      'PATCH',
      `/v2/images/${image.id}`,
      `hide image ${image.id}`,
      signal,
      JSON.stringify([
        { op: 'replace', path: '/os_hidden', value: true },
        { op: 'add', path: '/vmops_superseded_by', value: String(supersededBy) },
      ]),
    );
  }

  async remove(image: CloudImage, signal: AbortSignal): Promise<RemoveOutcome> {
    const done: string[] = [];
    if (image.status === 'active') {
      await this.#json(
        'POST',
        `/v2/images/${image.id}/actions/deactivate`,
        `deactivate image ${image.id}`,
        signal,
      );
      done.push('deactivated');
    }
    await this.#json(
      'DELETE',
      `/v2/images/${image.id}`,
      `delete image ${image.id}`,
      signal,
      undefined,
      [404],
    );
    done.push('deleted');
    return { id: image.id, done };
  }

  launch(): Promise<string[]> {
    return Promise.reject(
      new VmopsError(
        'cloud_unsupported',
        `cloud ${this.name} is a Glance image service without a compute service here: it cannot start instances (--launch works on ec2 clouds)`,
      ),
    );
  }

  async instances(): Promise<CloudInstance[]> {
    return [];
  }

  async terminate(): Promise<void> {}

  #toCloudImage(image: GlanceImage): CloudImage {
    const text = (key: string) => (typeof image[key] === 'string' ? (image[key] as string) : undefined);
    const state: CloudImage['state'] =
      image.status === 'active'
        ? image.os_hidden
          ? 'hidden'
          : 'offered'
        : image.status === 'deactivated'
          ? 'deactivated'
          : UNFINISHED.has(image.status)
            ? 'incomplete'
            : 'failed';
    const result: CloudImage = { id: image.id, name: image.name ?? '', state, status: image.status };
    const product = text('vmops_product');
    const version = text('vmops_version');
    const revision = text('vmops_revision');
    const sha256 = text('vmops_sha256');
    if (product !== undefined) result.product = product;
    if (version !== undefined) result.version = version;
    if (revision !== undefined && /^\d+$/.test(revision)) result.revision = Number(revision);
    if (sha256 !== undefined) result.sha256 = sha256;
    if (typeof image.size === 'number') result.size = image.size;
    return result;
  }

  async #headers(signal: AbortSignal): Promise<Record<string, string>> {
    const keystone = this.#config.keystone;
    if (this.#token === undefined && keystone !== undefined) {
      const response = await httpCall(`${keystone.authUrl}/auth/tokens`, {
        cloud: this.name,
        doing: 'log in to Keystone',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          auth: {
            identity: {
              methods: ['password'],
              password: {
                user: {
                  name: keystone.username,
                  domain: { name: keystone.userDomain },
                  password: keystone.password,
                },
              },
            },
            scope: { project: { name: keystone.project, domain: { name: keystone.projectDomain } } },
          },
        }),
        timeoutMs: this.#config.timeout,
        signal,
      });
      this.#token = response.headers.get('x-subject-token') ?? undefined;
      if (this.#token === undefined)
        throw new CloudError(this.name, 'Keystone answered without an X-Subject-Token');
    }
    return this.#token === undefined ? {} : { 'x-auth-token': this.#token };
  }

  async #json(
    method: string,
    path: string,
    doing: string,
    signal: AbortSignal,
    body?: string,
    accept?: readonly number[],
  ): Promise<unknown> {
    const headers = await this.#headers(signal);
    if (body !== undefined) headers['content-type'] = method === 'PATCH' ? PATCH_TYPE : 'application/json';
    const response = await httpCall(`${this.#config.endpoint}${path}`, {
      cloud: this.name,
      doing,
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      timeoutMs: this.#config.timeout,
      signal,
      ...(accept === undefined ? {} : { accept }),
    });
    const text = await response.text();
    return text === '' ? undefined : JSON.parse(text);
  }

  /** PUTs the file with its length, counting bytes as they go; fails when no byte moves for `timeout`. */
  async #upload(id: string, input: PublishInput): Promise<void> {
    const url = new URL(`${this.#config.endpoint}/v2/images/${id}/file`);
    const headers = {
      ...(await this.#headers(input.signal)),
      'content-type': 'application/octet-stream',
      'content-length': String(input.size),
    };
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    await new Promise<void>((resolve, reject) => {
      const fail = (message: string, transient: boolean, cause?: unknown) =>
        reject(new CloudError(this.name, `could not upload image ${id}: ${message}`, { transient, cause }));
      const req = request(url, { method: 'PUT', headers, signal: input.signal }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (text.length < 2000) text += chunk;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else
            fail(
              `HTTP ${status} ${res.statusMessage ?? ''}${text ? `: ${shortBody(text)}` : ''}`,
              status >= 500,
            );
        });
      });
      req.setTimeout(this.#config.timeout, () =>
        req.destroy(new Error(`no progress for ${this.#config.timeout / 1000}s`)),
      );
      req.on('error', (error) => {
        if (input.signal.aborted) reject(error);
        else fail(networkReason(error, this.#config.timeout), true, error);
      });
      let sent = 0;
      const file = createReadStream(input.file, { highWaterMark: 1 << 20 });
      file.on('data', (chunk) => {
        sent += chunk.length;
        input.onProgress(sent);
      });
      file.on('error', (error) => req.destroy(error));
      file.pipe(req);
    });
  }
}
