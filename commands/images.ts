// `images [product] [version]`: the catalog of images and where they stand (not available yet).
import type { CommandSpec } from '../src/command-spec.ts';
import { notAvailable } from './support/not-available.ts';

export const command: CommandSpec = {
  name: 'images',
  aliases: ['catalog'],
  summary: 'show the catalog: versions, formats, states and clouds',
  examples: ['images', 'images 2.6', 'images cernvm 2.6'],
  access: 'known',
  args: [
    { name: 'product', kind: 'product', optional: true },
    { name: 'version', kind: 'version', optional: true },
  ],
  async run() {
    return notAvailable('images');
  },
};
