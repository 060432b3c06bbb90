// A directory cloud: deployed images are files in <path>/<product>-<version>/ with a deployment.json,
// written by the recipe's deploy step (recipes/cernvm/deploy.sh) and removed by its revoke step.
// This driver reads them back for `clouds`, and can remove one; it uploads nothing itself and
// starts no instances.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CloudConfig } from '../../config/schema.ts';
import { VmopsError } from '../errors.ts';
import type { CloudDriver, CloudImage, CloudInstance, RemoveOutcome } from './cloud-driver.ts';

type DirectoryConfig = Extract<CloudConfig, { driver: 'directory' }>;

interface DeploymentJson {
  product?: string;
  version?: string;
  formats?: Record<string, { name: string; sha256: string }[]>;
}

export class DirectoryCloud implements CloudDriver {
  readonly name: string;
  readonly driver = 'directory';
  readonly format: string | undefined;
  readonly canLaunch = false;
  readonly path: string;

  constructor(name: string, config: DirectoryConfig, dataDir: string) {
    this.name = name;
    this.format = config.format;
    this.path = resolve(dataDir, config.path ?? join('clouds', name));
  }

  async check(): Promise<void> {}

  async list(filter: { product?: string; version?: string }): Promise<CloudImage[]> {
    const entries = await readdir(this.path, { withFileTypes: true }).catch(() => []);
    const images: CloudImage[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const dir = join(this.path, entry.name);
      if (entry.name.startsWith('.')) {
        // left by a deploy that was killed half-way
        images.push({ id: entry.name, name: entry.name, state: 'incomplete', status: 'partial copy' });
        continue;
      }
      const doc = await readFile(join(dir, 'deployment.json'), 'utf8')
        .then((text) => JSON.parse(text) as DeploymentJson)
        .catch(() => undefined);
      if (doc === undefined) continue;
      if (filter.product !== undefined && doc.product !== filter.product) continue;
      if (filter.version !== undefined && doc.version !== filter.version) continue;
      const image: CloudImage = {
        id: entry.name,
        name: entry.name,
        state: 'offered',
        status: 'files',
        revision: 0,
      };
      if (doc.product !== undefined) image.product = doc.product;
      if (doc.version !== undefined) image.version = doc.version;
      const first = Object.values(doc.formats ?? {})[0]?.[0];
      if (first !== undefined) image.sha256 = first.sha256;
      images.push(image);
    }
    return images;
  }

  publish(): Promise<CloudImage> {
    return Promise.reject(
      new VmopsError(
        'cloud_unsupported',
        `cloud ${this.name} is a directory: the recipe's deploy step copies the files`,
      ),
    );
  }

  async hide(): Promise<void> {}

  async remove(image: CloudImage): Promise<RemoveOutcome> {
    await rm(join(this.path, image.id), { recursive: true, force: true });
    return { id: image.id, done: ['deleted'] };
  }

  launch(): Promise<string[]> {
    return Promise.reject(
      new VmopsError('cloud_unsupported', `cloud ${this.name} is a directory: it cannot start instances`),
    );
  }

  async instances(): Promise<CloudInstance[]> {
    return [];
  }

  async terminate(): Promise<void> {}
}
