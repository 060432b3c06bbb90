// The image catalog: every product's versions, newest first, each format with its state, files with
// size and checksum, what is inside (packages, kernel, a link to the package manifest), the revisions
// `update` made, and download links for published files in the download area.
import { basename } from 'node:path';
import type { VersionRecord } from '../../catalog/catalog.ts';
import { describeChanges } from '../../catalog/package-changes.ts';
import type { CloudDeployment } from '../../clouds/deployment-record.ts';
import { type Html, html } from '../html.ts';

function size(bytes: number | undefined): string {
  if (bytes === undefined) return '';
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${bytes} B`;
}

const enc = (part: string) => encodeURIComponent(part);

/** Where a version is deployed: per cloud, the images there with the cloud's ids and revisions. */
function deploymentList(deployments: readonly CloudDeployment[]): Html | string {
  if (deployments.length === 0) return '';
  const clouds = deployments.map((deployment) => {
    const images = deployment.images.map(
      (image) =>
        html`<li><code class="cloud-image">${image.id}</code> <span class="meta">${image.revision > 0 ? `r${image.revision}` : 'r0'}</span> <span class="badge cloud-${image.state}">${image.state}</span></li>`,
    );
    const launched =
      deployment.launched.length > 0
        ? html`<div class="meta">launched: ${deployment.launched.join(', ')}</div>`
        : '';
    return html`<li class="cloud"><strong>${deployment.cloud}</strong> <span class="meta">${deployment.driver}</span>${images.length > 0 ? html`<ul class="cloud-images">${images}</ul>` : ''}${launched}<div class="meta">${deployment.last}</div></li>`;
  });
  return html`<ul class="deployments">${clouds}</ul>`;
}

function versionCard(record: VersionRecord & { deployments?: readonly CloudDeployment[] }): Html {
  const formats = record.images.map((image) => {
    const downloadable = image.state === 'published' && !record.revoked;
    const files = image.artifacts.map((artifact) => {
      const name = basename(artifact.path);
      const link = `/downloads/${enc(record.product)}/${enc(record.version)}/${enc(name)}`;
      return html`<li>${downloadable ? html`<a href="${link}" download>${name}</a>` : html`<span>${name}</span>`} <small>${size(artifact.size)}</small>${artifact.sha256 ? html` <code class="sha" title="${artifact.sha256}">sha256 ${artifact.sha256.slice(0, 16)}…</code>` : ''}</li>`;
    });
    return html`<li class="format">
  <div class="line"><strong>${image.format}</strong> <span class="badge image-${image.state}">${image.state}</span> <a class="meta" href="/jobs/${image.job}">${image.job}</a> <span class="meta">by ${image.by}</span></div>
  ${image.kernel !== undefined || image.packages !== undefined ? html`<div class="meta">${image.revision ? `revision r${image.revision} · ` : ''}${image.packages !== undefined ? `${image.packages} packages` : ''}${image.kernel !== undefined ? ` · kernel ${image.kernel}` : ''}${image.manifest !== undefined && downloadable ? html` · <a href="/downloads/${enc(record.product)}/${enc(record.version)}/${enc(image.manifest)}">package manifest</a>` : ''}</div>` : ''}
  ${image.test ? html`<div class="meta">tests: ${image.test.passed} passed, ${image.test.failed} failed, ${image.test.skipped} skipped · <a href="/jobs/${image.test.job}/report">report</a></div>` : ''}
  ${image.error ? html`<div class="error">${image.error}</div>` : ''}
  ${files.length > 0 ? html`<ul class="files">${files}</ul>` : ''}
</li>`;
  });
  return html`<section class="card version">
  <h2>${record.product} ${record.version}${record.revoked ? html` <span class="badge image-revoked">revoked</span>` : ''}</h2>
  ${record.revoked ? html`<p class="error">revoked by ${record.revoked.by}: ${record.revoked.reason || 'no reason given'}</p>` : ''}
  ${record.clouds.length > 0 ? html`<p class="meta">deployed on ${record.clouds.join(', ')}</p>` : ''}
  ${deploymentList(record.deployments ?? [])}
  ${record.updates > 0 ? html`<p class="meta">${record.updates} update${record.updates === 1 ? '' : 's'}</p>` : ''}
  <ul class="formats">${formats}</ul>
  ${(record.revisions ?? []).length > 0 ? html`<ul class="revisions">${(record.revisions ?? []).map((r) => html`<li><strong>r${r.revision}</strong> <span class="badge image-${r.state}">${r.state}</span> <a class="meta" href="/jobs/${r.job}">${r.job}</a> <span class="meta">by ${r.by}</span> ${describeChanges(r.revision, r.changes, 10).replace(/^r\d+: /, '')}</li>`)}</ul>` : ''}
</section>`;
}

export function imagesBody(
  products: readonly {
    product: string;
    versions: readonly (VersionRecord & { deployments?: readonly CloudDeployment[] })[];
  }[],
): Html {
  return html`${products.map(
    ({
      product,
      versions,
    }) => html`<p class="hint">${product}: <a href="/downloads/${enc(product)}/index.json">index.json</a> · <a href="/downloads/${enc(product)}/revocations.json">revocations.json</a></p>
${versions.length > 0 ? versions.map(versionCard) : html`<p class="empty">No images of ${product} yet.</p>`}`,
  )}`;
}
