// The docs hold together: every relative link in README.md and docs/ reaches a file (and, for a
// Markdown page, a heading), and every page of docs/ can be reached from the README.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../src/app/config-load.ts';

/** Every Markdown page of docs/, relative to the repository. */
function docsPages(dir = 'docs'): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return docsPages(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2…. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  const outsideCode = markdown.replaceAll(/^```[\s\S]*?^```/gm, '');
  for (const match of outsideCode.matchAll(/^#{1,6} (.+)$/gm)) {
    const base = (match[1] as string)
      .trim()
      .toLowerCase()
      .replaceAll(/[^\p{L}\p{N}\s_-]/gu, '')
      .replaceAll(' ', '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** The relative links of a page: [text](target), outside code blocks. */
function links(markdown: string): string[] {
  const outsideCode = markdown.replaceAll(/^```[\s\S]*?^```/gm, '').replaceAll(/`[^`\n]*`/g, '');
  return [...outsideCode.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] as string)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

const pages = ['README.md', ...docsPages()];
const text = (page: string) => readFileSync(join(repoRoot, page), 'utf8');

describe('the docs', () => {
  it.each(pages)('%s links only to files and headings that exist', (page) => {
    const broken = links(text(page)).filter((target) => {
      const [path = '', anchor] = target.split('#');
      const file = path === '' ? page : normalize(join(dirname(page), decodeURI(path)));
      if (!existsSync(join(repoRoot, file))) return true;
      return anchor !== undefined && file.endsWith('.md') && !anchors(text(file)).has(anchor);
    });
    expect(broken).toEqual([]);
  });

  it('every page of docs/ can be reached from the README', () => {
    const reached = new Set<string>(['README.md']);
    const todo = ['README.md'];
    while (todo.length > 0) {
      const page = todo.pop() as string;
      for (const target of links(text(page))) {
        const path = target.split('#')[0] ?? '';
        if (!path.endsWith('.md')) continue;
        const file = relative('.', normalize(join(dirname(page), decodeURI(path))));
        if (!reached.has(file) && existsSync(join(repoRoot, file))) {
          reached.add(file);
          todo.push(file);
        }
      }
    }
    expect(pages.filter((page) => !reached.has(page))).toEqual([]);
  });

  it('the README is a front door, not the manual', () => {
    expect(text('README.md').split('\n').length).toBeLessThan(300);
  });
});
