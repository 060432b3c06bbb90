// The reference pages in docs/reference/ stay true to the code: the generated ones are exactly what
// `npm run docs` writes now, and the hand-written ones name every configuration key and every metric.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configKeys, generatedPages } from '../../../scripts/docs-reference.ts';
import { repoRoot } from '../../../src/app/config-load.ts';
import { VmopsMetrics } from '../../../src/observability/metrics.ts';

const page = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

/** Every `code span` of a Markdown text. */
function codeSpans(markdown: string): string[] {
  return [...markdown.matchAll(/`([^`\n]+)`/g)].map((match) => match[1] as string);
}

/** `products.<p>.formats` and `products.<name>.formats` are the same key. */
const placeholders = (key: string) => key.replaceAll(/<[^>]+>/g, '<>');

/** Keys with nothing under them: the ones a reader sets. */
function leaves(keys: readonly string[]): string[] {
  return keys.filter(
    (key) => !keys.some((other) => other.startsWith(`${key}.`) || other.startsWith(`${key}[]`)),
  );
}

describe('docs/reference', () => {
  it.each(Object.entries(generatedPages()))('%s is what npm run docs writes from the code', (path, text) => {
    expect(page(path), `${path} is out of date: run npm run docs`).toBe(text);
  });

  it('configuration.md documents every key the configuration schema accepts', () => {
    const documented = codeSpans(page('docs/reference/configuration.md')).map(placeholders);
    const missing = leaves(configKeys()).filter((key) => {
      const wanted = placeholders(key);
      // A table may abbreviate a long common prefix: `…steps[].run`.
      return !documented.some(
        (span) => span === wanted || (span.startsWith('…') && wanted.endsWith(span.slice(1))),
      );
    });
    expect(missing, 'keys without a line in docs/reference/configuration.md').toEqual([]);
  });

  it('metrics.md documents every metric the bot serves', async () => {
    const spans = new Set(codeSpans(page('docs/reference/metrics.md')));
    const metrics = (await new VmopsMetrics().registry.getMetricsAsJSON()).map((metric) => metric.name);
    expect(metrics.length).toBeGreaterThan(5);
    expect(metrics.filter((name) => !spans.has(name))).toEqual([]);
  });
});
