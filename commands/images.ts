// `images [product] [version]`: the catalog of images and where they stand.
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { versionDetail, versionLine } from '../src/render/catalog.ts';

const LIST_LIMIT = 20;

export const command: CommandSpec = {
  name: 'images',
  aliases: ['catalog'],
  summary: 'show the catalog: versions, formats, states and clouds',
  description:
    'Without a version: one line per version, newest first. With a version: each format with its state, files, checksums and tests.',
  examples: ['images', 'images 2.6', 'images cernvm 2.6'],
  access: 'known',
  args: [
    { name: 'product', kind: 'product', optional: true },
    { name: 'version', kind: 'version', optional: true },
  ],
  async run(ctx, args) {
    if (args.version !== undefined) {
      const version = await ctx.catalog.version(args.product, args.version);
      return { reply: { text: versionDetail(version), tone: 'info' } };
    }
    const versions = await ctx.catalog.versions(args.product);
    if (versions.length === 0) {
      return {
        reply: {
          text: `No images of ${args.product} yet: build one with build ${args.product} <version> <format…>.`,
          tone: 'info',
        },
      };
    }
    const shown = versions.slice(0, LIST_LIMIT);
    const lines = await Promise.all(
      shown.map(async (v) => versionLine(await ctx.catalog.version(args.product, v))),
    );
    if (versions.length > shown.length) lines.push(`… and ${versions.length - shown.length} older versions`);
    return { reply: { text: lines.join('\n'), tone: 'info' } };
  },
};
