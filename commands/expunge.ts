// `expunge [product] <version as the catalog spells it>`: removes a version that never should have
// existed (`99999999999999999999.1`, `2.07` from before versions had one spelling) from the catalog.
// Admins only, after an approval (approval-policy.ts), and written to the audit trail like every command.

import { VmopsError } from '../src/errors.ts';
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { echo } from '../src/grammar/echo.ts';
import { VERSION_PATTERN } from '../src/grammar/version.ts';

export const command: CommandSpec = {
  name: 'expunge',
  summary: 'remove a wrongly written version from the catalog',
  description:
    'Removes a version that never should have existed, spelled exactly as the catalog lists it (a version with leading zeros or oversized parts, from before versions had one spelling): its images and facts leave the catalog, so it no longer counts as the newest. Files it left in the download area stay (images lists them first). It waits for an approval.',
  examples: ['expunge 99999999999999999999.1', 'expunge cernvm 2.07'],
  access: 'admin',
  args: [
    { name: 'product', kind: 'product', optional: true },
    { name: 'version', kind: 'text' },
  ],
  plan: () => ({ acts: 'itself' }),
  async run(ctx, args) {
    const version = (args.text ?? '').trim();
    const known = await ctx.catalog.versions(args.product);
    if (!known.includes(version)) {
      const odd = known.filter((v) => !VERSION_PATTERN.test(v));
      throw new VmopsError(
        'bad_version',
        `${args.product} has no version ${echo(version)} in the catalog.${odd.length > 0 ? ` Versions written wrongly: ${odd.map((v) => echo(v)).join(', ')}.` : ''}`,
      );
    }
    const removed = await ctx.catalog.expunge(args.product, version);
    const published = removed.images.filter((image) => image.state === 'published').map((i) => i.format);
    const left =
      published.length > 0
        ? ` Its ${published.join(', ')} files were published and stay in the download area: remove them there.`
        : '';
    return {
      reply: {
        tone: 'ok',
        text: `${args.product} ${echo(version)} is gone from the catalog (${removed.images.length} images).${left}`,
      },
    };
  },
};
