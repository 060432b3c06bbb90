// The catalog against the download area: index.json (what is published, per version and format) and
// revocations.json (what is revoked) are what people download by, so where the catalog disagrees with
// them after a crash, the download area wins: an image listed there is published, a version on the
// revocation list is revoked, and an image the catalog calls published that the index does not list
// becomes `unknown` (images shows it; publishing it again repairs it). Run at worker start-up.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Catalog } from './catalog.ts';

/** What the download area says of one version. */
export interface DownloadState {
  /** Formats index.json lists for the version. */
  formats: string[];
  /** Whether revocations.json lists the version. */
  revoked: boolean;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    return undefined; // absent (nothing published yet) or cut short: treated as empty
  }
}

interface ProductDownloads {
  formats: Map<string, string[]>;
  revoked: Set<string>;
}

async function productDownloads(downloadsDir: string, product: string): Promise<ProductDownloads> {
  const index = (await readJson(join(downloadsDir, product, 'index.json'))) as
    | { versions?: Record<string, { formats?: Record<string, unknown> }> }
    | undefined;
  const revocations = (await readJson(join(downloadsDir, product, 'revocations.json'))) as
    | { revoked?: { version?: string }[] }
    | undefined;
  const formats = new Map<string, string[]>();
  for (const [version, entry] of Object.entries(index?.versions ?? {})) {
    formats.set(version, Object.keys(entry.formats ?? {}).sort());
  }
  const revoked = new Set(
    (revocations?.revoked ?? []).flatMap((entry) => (entry.version ? [entry.version] : [])),
  );
  return { formats, revoked };
}

/** What the download area says of a version. */
export async function downloadState(
  downloadsDir: string,
  product: string,
  version: string,
): Promise<DownloadState> {
  const downloads = await productDownloads(downloadsDir, product);
  return { formats: downloads.formats.get(version) ?? [], revoked: downloads.revoked.has(version) };
}

/** Brings the catalog in line with the download area; returns what it changed, one line each. */
export async function reconcileDownloads(options: {
  catalog: Catalog;
  downloadsDir: string;
  products: readonly string[];
  log: Pick<Logger, 'warn'>;
}): Promise<string[]> {
  const { catalog } = options;
  const changed: string[] = [];
  for (const product of options.products) {
    const downloads = await productDownloads(options.downloadsDir, product);
    for (const version of await catalog.versions(product)) {
      const record = await catalog.version(product, version);
      const revoked = downloads.revoked.has(version);
      const listed = downloads.formats.get(version) ?? [];
      const who = (job: string) => ({ product, version, job, by: 'vmops' });
      for (const image of record.images) {
        const name = `${product} ${version} ${image.format}`;
        if (revoked && image.state !== 'revoked') {
          await catalog.putImage({ ...who(image.job), format: image.format, state: 'revoked' });
          changed.push(`${name}: revoked (on the revocation list)`);
        } else if (!revoked && listed.includes(image.format) && image.state !== 'published') {
          await catalog.putImage({
            ...who(image.job),
            format: image.format,
            state: 'published',
            publishedAt: Date.now(),
          });
          changed.push(`${name}: published (listed in index.json)`);
        } else if (!revoked && image.state === 'published' && !listed.includes(image.format)) {
          await catalog.putImage({
            ...who(image.job),
            format: image.format,
            state: 'unknown',
            error: 'the catalog said published, but the download area does not list it: publish it again',
          });
          changed.push(`${name}: unknown (not in index.json)`);
        }
      }
      if (revoked && !record.revoked) {
        await catalog.putVersion(
          product,
          version,
          {
            clouds: [],
            revoked: { at: Date.now(), by: 'vmops', reason: 'found on the revocation list at start-up' },
          },
          { event: 'revoked', product, version, job: '', by: 'vmops', at: Date.now() },
        );
        changed.push(`${product} ${version}: revoked`);
      }
    }
  }
  if (changed.length > 0)
    options.log.warn({ changed }, 'the catalog was brought in line with the download area');
  return changed;
}
