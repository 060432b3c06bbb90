// The repository's own import graph, read with regular expressions (every import and re-export,
// static, dynamic and type-only: a type import is a dependency of the design all the same), for tests
// that keep the layers apart and the graph free of cycles.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '../../src/app/config-load.ts';

/** Every `.ts` file under `dir`, absolute. */
export function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative module specifiers of a file's imports and re-exports (static, dynamic, type-only), resolved from the repository root. */
export function importsOf(file: string): string[] {
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

/** The graph of the given top-level folders: file (from the repository root) → files it imports. */
export function importGraph(folders: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const folder of folders) {
    for (const file of sources(join(repoRoot, folder))) {
      graph.set(relative(repoRoot, file).split('\\').join('/'), [...new Set(importsOf(file))]);
    }
  }
  return graph;
}

/** Every cycle's strongly connected component (Tarjan), each as its files sorted; a file importing itself counts. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let top: string | undefined;
    do {
      top = stack.pop();
      if (top === undefined) break;
      onStack.delete(top);
      component.push(top);
    } while (top !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

/**
 * The shortest import chain from any of `from` to a file that `forbidden` matches, per file reached
 * through an import (breadth first over the graph; files outside it are ends). Each chain lists the
 * files in order. The walk goes on only through files that `through` accepts (default all).
 */
export function forbiddenChains(
  graph: ReadonlyMap<string, readonly string[]>,
  from: readonly string[],
  forbidden: (file: string) => boolean,
  through: (file: string) => boolean = () => true,
): string[][] {
  const parent = new Map<string, string | undefined>(from.map((file) => [file, undefined]));
  const queue = [...from];
  const chains: string[][] = [];
  for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
    if (parent.get(node) !== undefined && forbidden(node)) {
      const chain: string[] = [];
      for (let at: string | undefined = node; at !== undefined; at = parent.get(at)) chain.unshift(at);
      chains.push(chain);
      continue; // one chain per forbidden file; what it imports in turn is its own layer's business
    }
    if (!through(node)) continue;
    for (const next of graph.get(node) ?? []) {
      if (parent.has(next)) continue;
      parent.set(next, node);
      queue.push(next);
    }
  }
  return chains;
}
