// Finds what a cloud step uploads: the published file of a format in the download area's index
// (<downloads>/<product>/index.json, written by the publish step), and the version's revision (the
// number of updates published for it, <downloads>/<product>/<version>/updates.json).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VmopsError } from '../errors.ts';

export interface PublishedFile {
  path: string;
  name: string;
  sha256: string;
}

interface IndexJson {
  versions?: Record<
    string,
    {
      revision?: number;
      formats?: Record<string, { revision?: number; files?: { name: string; sha256: string }[] }>;
    }
  >;
}

function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Formats of the version that are published. */
export function publishedFormats(downloads: string, product: string, version: string): string[] {
  const index = readJson<IndexJson>(join(downloads, product, 'index.json'));
  return Object.keys(index?.versions?.[version]?.formats ?? {}).sort();
}

/** The published image file of a format; throws `not_ready` naming what is published instead. */
export function publishedFile(
  downloads: string,
  product: string,
  version: string,
  format: string,
): PublishedFile {
  const index = readJson<IndexJson>(join(downloads, product, 'index.json'));
  const files = index?.versions?.[version]?.formats?.[format]?.files ?? [];
  const file = files.find((f) => /\.(qcow2|raw|img|vmdk|ova|vdi|vhdx|vhd)$/.test(f.name)) ?? files[0];
  if (file === undefined) {
    const formats = publishedFormats(downloads, product, version);
    throw new VmopsError(
      'not_ready',
      `${product} ${version} has no published ${format} image (published: ${formats.join(', ') || 'none'}): publish ${product} ${version} ${format} first`,
    );
  }
  return { path: join(downloads, product, version, file.name), name: file.name, sha256: file.sha256 };
}

/**
 * The version's current revision: the one the download index serves (`revision` of the version, as
 * the real recipe's update writes it), else the number of the last update the stand-in recipe
 * recorded in updates.json, else 0.
 */
export function currentRevision(downloads: string, product: string, version: string): number {
  const entry = readJson<IndexJson>(join(downloads, product, 'index.json'))?.versions?.[version];
  const served =
    entry?.revision ?? Math.max(-1, ...Object.values(entry?.formats ?? {}).map((f) => f.revision ?? -1));
  if (typeof served === 'number' && served >= 0) return served;
  const updates = readJson<{ latest?: number }>(join(downloads, product, version, 'updates.json'));
  return typeof updates?.latest === 'number' ? updates.latest : 0;
}
