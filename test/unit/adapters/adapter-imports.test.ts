// Adapters hold no policy (message age, claims, notices, dedupe): those are the pipeline's and the
// intake's. This keeps every file under adapters/ from importing src/pipeline/ or src/intake/, so a
// policy cannot creep back into an adapter through a shared helper.
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../src/app/config-load.ts';
import { importsOf, sources } from '../../helpers/import-graph.ts';

const FORBIDDEN = ['src/pipeline/', 'src/intake/'];

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
