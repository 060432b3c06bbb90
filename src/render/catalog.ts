// Renders the image catalog for `images`: one line per version, or one version in detail.
import type { ImageRecord, RevisionRecord, VersionRecord } from '../catalog/catalog.ts';
import { describeChanges } from '../catalog/package-changes.ts';
import { printable } from '../grammar/echo.ts';

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

function size(bytes: number | undefined): string {
  if (bytes === undefined) return '';
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function versionFacts(version: VersionRecord): string[] {
  const facts: string[] = [];
  if (version.revoked) {
    facts.push(
      `revoked ${day(version.revoked.at)} by ${version.revoked.by}${version.revoked.reason ? `: ${printable(version.revoked.reason, 80)}` : ''}`,
    );
  }
  if (version.clouds.length > 0) facts.push(`deployed on ${version.clouds.join(', ')}`);
  if (version.updates > 0) facts.push(`${version.updates} update${version.updates === 1 ? '' : 's'}`);
  const newest = version.revisions?.filter((r) => r.state === 'published').at(-1);
  if (newest) facts.push(`serving r${newest.revision}`);
  return facts;
}

/** `cernvm 2.6 · kvm published · vmware passed · deployed on local` */
export function versionLine(version: VersionRecord): string {
  const images = version.revoked ? [] : version.images.map((i) => `${i.format} ${i.state}`);
  return [`${version.product} ${version.version}`, ...images, ...versionFacts(version)].join(' · ');
}

function imageLines(image: ImageRecord): string[] {
  const revision = image.revision ? ` r${image.revision}` : '';
  const lines = [
    `  ${image.format.padEnd(10)} ${image.state.padEnd(9)}${revision} job ${image.job} by ${image.by}, ${day(image.updatedAt)}`,
  ];
  if (image.kernel !== undefined || image.packages !== undefined) {
    const contents = [
      image.packages !== undefined ? `${image.packages} packages` : '',
      image.kernel !== undefined ? `kernel ${printable(image.kernel, 60)}` : '',
      image.manifest !== undefined ? `manifest ${printable(image.manifest, 80)}` : '',
    ];
    lines.push(`             ${contents.filter(Boolean).join(' · ')}`);
  }
  for (const artifact of image.artifacts) {
    const name = artifact.path.split('/').at(-1) ?? artifact.path;
    const sum = artifact.sha256 ? `sha256 ${artifact.sha256.slice(0, 16)}…` : '';
    lines.push(`             ${[name, size(artifact.size), sum].filter(Boolean).join('  ')}`);
  }
  if (image.test) {
    const failures =
      image.test.failures.length > 0
        ? ` (failed: ${image.test.failures
            .slice(0, 3)
            .map((f) => printable(f, 60))
            .join('; ')})`
        : '';
    lines.push(
      `             tests: ${image.test.passed} passed, ${image.test.failed} failed, ${image.test.skipped} skipped${failures} · report ${image.test.job}`,
    );
  }
  if (image.error && image.state === 'failed')
    lines.push(`             error: ${printable(image.error, 160)}`);
  return lines;
}

/** One version in detail: every image, its files and checksums, its tests. */
export function versionDetail(version: VersionRecord): string {
  const head = [`${version.product} ${version.version}`, ...versionFacts(version)].join(' · ');
  if (version.images.length === 0)
    return `${head}: no images yet (build ${version.product} ${version.version} <format…>)`;
  return [head, ...version.images.flatMap(imageLines), ...(version.revisions ?? []).map(revisionLine)].join(
    '\n',
  );
}

/** `  r1 published job … by alice, 2026-12-06 18:30: 1 package changed: tzdata 2025b → 2026f` */
function revisionLine(revision: RevisionRecord): string {
  const changes = describeChanges(revision.revision, revision.changes, 3).replace(/^r\d+: /, '');
  return `  r${revision.revision} ${revision.state} job ${revision.job} by ${revision.by}, ${day(revision.at)}: ${printable(changes, 300)}`;
}
