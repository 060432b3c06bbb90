// The download area is served as it lies on disk, and never through a symbolic link: a link put there
// (by a recipe, by someone with access to the data directory) could lead anywhere on the host. A path
// whose real location differs from where it lies, or that lies outside the area, is answered 404.
import { realpath } from 'node:fs/promises';
import { resolve, sep } from 'node:path';

/** Whether `relative` (a decoded URL path inside the area) resolves inside `root` without a symlink. */
export async function servableWithoutLinks(root: string, relative: string): Promise<boolean> {
  const lexical = resolve(root, `.${sep}${relative}`);
  if (lexical !== root && !lexical.startsWith(`${root}${sep}`)) return false;
  const real = await realpath(lexical).catch((error: NodeJS.ErrnoException) =>
    error.code === 'ENOENT' || error.code === 'ENOTDIR' ? lexical : undefined,
  );
  return real === lexical;
}
