// `clouds [product] [version]`: what each cloud offers, read from the clouds themselves (not from
// the catalog), so that drift shows: an image deleted by hand, an upload left half-way, a revoked
// version still there.

import { dataDirOf } from '../src/app/config-load.ts';
import { type CloudImage, versionLabel } from '../src/clouds/cloud-driver.ts';
import { openCloud } from '../src/clouds/open-cloud.ts';
import type { CommandSpec } from '../src/grammar/command-spec.ts';

const READ_TIMEOUT_MS = 20_000;
const SHOWN = 12;

function imageLine(image: CloudImage): string {
  const what = `${image.product ?? '?'} ${versionLabel(image.version, image.revision)}`;
  const state =
    image.state === 'incomplete'
      ? `incomplete upload (${image.status}): unusable`
      : image.state === 'offered'
        ? 'offered'
        : `${image.state} (${image.status})`;
  return `  ${what} · ${state} · ${image.id}`;
}

export const command: CommandSpec = {
  name: 'clouds',
  summary: 'show what each cloud offers, read from the clouds',
  description:
    "Asks every configured cloud which images of vmops it holds (of the product, or of one version), with their revisions, states and the clouds' image ids. It reads the clouds themselves, not the catalog: compare with images to see drift.",
  examples: ['clouds', 'clouds 2.6', 'clouds cernvm 2.6'],
  access: 'known',
  args: [
    { name: 'product', kind: 'product', optional: true },
    { name: 'version', kind: 'version', optional: true },
  ],
  async run(ctx, args) {
    const names = Object.keys(ctx.config.clouds);
    if (names.length === 0) {
      return {
        reply: {
          text: 'No clouds are configured: an admin can add them under clouds in the config.',
          tone: 'info',
        },
      };
    }
    const dataDir = dataDirOf(ctx.config);
    const filter = {
      product: args.product,
      ...(args.version === undefined ? {} : { version: args.version }),
    };
    const sections = await Promise.all(
      names.map(async (name) => {
        const config = ctx.config.clouds[name];
        if (config === undefined) return '';
        const head = `${name} (${config.driver}${config.format ? `, ${config.format}` : ''})`;
        try {
          const driver = await openCloud(name, config, dataDir);
          const images = await driver.list(filter, AbortSignal.timeout(READ_TIMEOUT_MS));
          images.sort(
            (a, b) =>
              (b.version ?? '').localeCompare(a.version ?? '', undefined, { numeric: true }) ||
              (b.revision ?? 0) - (a.revision ?? 0),
          );
          if (images.length === 0)
            return `${head}: nothing of ${args.product}${args.version ? ` ${args.version}` : ''}`;
          const lines = images.slice(0, SHOWN).map(imageLine);
          if (images.length > SHOWN) lines.push(`  … and ${images.length - SHOWN} more`);
          return `${head}:\n${lines.join('\n')}`;
        } catch (error) {
          ctx.log.warn({ cloud: name, error: (error as Error).message }, 'could not read a cloud');
          return `${head}: could not be read: ${(error as Error).message}`;
        }
      }),
    );
    return { reply: { text: sections.filter(Boolean).join('\n'), tone: 'info' } };
  },
};
