// Tests that only need jobs to run use the fast `demo` recipe (a few seconds, nothing to boot) for
// every product, so `build cernvm 2.6 kvm` in a test makes a stand-in image. The real cernvm recipe
// (packages, self-booting disks, boot tests) has its own tests: test/integration/cernvm-appliance.test.ts.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { Config } from '../../config/schema.ts';
import { defaultConfigPath } from '../../src/app/config-load.ts';

/** Gives every product the demo product's stages (in place); the config must have a `demo` product. */
export function useDemoRecipe(config: Config): Config {
  const demo = config.products.demo;
  if (!demo) throw new Error('the config has no demo product to take the stand-in recipe from');
  for (const product of Object.values(config.products)) product.stages = structuredClone(demo.stages);
  return config;
}

/**
 * A config file's text (default: config/default.yaml) with every product's stages replaced by the demo
 * product's; the rest of the text, its comments and its layout stay as they are.
 */
export function demoConfigYaml(text: string = readFileSync(defaultConfigPath, 'utf8')): string {
  const doc = parseDocument(text);
  const stages = doc.getIn(['products', 'demo', 'stages']);
  if (stages === undefined)
    throw new Error('the config has no demo product to take the stand-in recipe from');
  const products = doc.getIn(['products']) as { items?: { key: unknown }[] } | undefined;
  for (const item of products?.items ?? []) {
    const name = String((item.key as { value?: unknown }).value ?? item.key);
    if (name !== 'demo') doc.setIn(['products', name, 'stages'], doc.createNode(stages));
  }
  return doc.toString();
}
