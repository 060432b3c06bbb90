// No import circles in the code: a module never depends, through any chain of imports (type-only ones
// included, which biome's noImportCycles does not see), on itself. A circle is where layers run back
// up: the command contract needing the approval desk that needs the pipeline that needs the contract.
import { describe, expect, it } from 'vitest';
import { cycles, importGraph } from '../../helpers/import-graph.ts';

const FOLDERS = ['src', 'adapters', 'commands', 'config'];

describe('the import graph', () => {
  it('has no cycle in src/, adapters/, commands/ or config/, type imports included', () => {
    const graph = importGraph(FOLDERS);
    expect(graph.size).toBeGreaterThan(100);
    expect(cycles(graph)).toEqual([]);
  });

  it('the check finds a cycle when there is one, type-only or through several files', () => {
    expect(cycles(new Map([['a.ts', ['a.ts']]]))).toEqual([['a.ts']]);
    expect(
      cycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', ['c.ts', 'd.ts']],
          ['c.ts', ['a.ts']],
          ['d.ts', []],
        ]),
      ),
    ).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    // The reader sees type-only imports: the command contract imports the approval types.
    const contract = importGraph(['src']).get('src/grammar/command-spec.ts') ?? [];
    expect(contract).toContain('src/approvals/approval-types.ts');
  });
});
