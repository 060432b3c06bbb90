// Adapters hold no policy (message age, claims, notices, dedupe): those are the pipeline's and the
// intake's. This keeps every file under adapters/ from importing src/pipeline/ or src/intake/, so a
// policy cannot creep back into an adapter through a shared helper.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../src/config-load.ts';

const FORBIDDEN = ['src/pipeline/', 'src/intake/'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative module specifiers of a file's imports and re-exports (static and dynamic), resolved from the repository root. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [
    ...text.matchAll(/(?:import|export)\s[^;]*?\sfrom\s+['"]([^'"]+)['"]/g),
    ...text.matchAll(/import\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
  ].map((m) => m[1] ?? '');
  return found
    .filter((spec) => spec.startsWith('.'))
    .map((spec) =>
      relative(repoRoot, resolve(dirname(file), spec))
        .split('\\')
        .join('/'),
    );
}

describe('adapters', () => {
  it('import nothing from the pipeline or the intake', () => {
    const files = sources(join(repoRoot, 'adapters'));
    expect(files.length).toBeGreaterThan(5);
    const offending = files.flatMap((file) =>
      importsOf(file)
        .filter((target) => FORBIDDEN.some((dir) => target.startsWith(dir)))
        .map((target) => `${relative(repoRoot, file)} imports ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it('the check sees an import of the pipeline when there is one', () => {
    // The matcher itself, on this very file's kind of import lines (so the rule cannot pass by seeing nothing).
    const probe = join(repoRoot, 'src', 'pipeline', 'handle-message.ts');
    expect(importsOf(probe)).toContain('src/pipeline/ingress.ts');
  });
});
