// A version's package set (config: products.<product>.versions."<version>") as the environment of the
// recipe steps: VMOPS_SUITE, VMOPS_PACKAGES (the product's packages and the version's, comma-separated),
// VMOPS_PINS (name=version,…), VMOPS_SNAPSHOT and VMOPS_MIRROR when set. Values come from config, never
// from what a user typed; a version without a package set gets none (the recipe says what is missing).
import type { ProductConfig } from '../../config/schema.ts';

export function packageSetEnvironment(
  product: ProductConfig | undefined,
  version: string,
): Record<string, string> {
  const set = product && Object.hasOwn(product.versions, version) ? product.versions[version] : undefined;
  if (!product || !set) return {};
  const env: Record<string, string> = {
    VMOPS_SUITE: set.suite,
    VMOPS_PACKAGES: [...new Set([...product.packages, ...set.packages])].join(','),
    VMOPS_PINS: Object.entries(set.pins)
      .map(([name, pinned]) => `${name}=${pinned}`)
      .join(','),
  };
  if (set.snapshot !== undefined) env.VMOPS_SNAPSHOT = set.snapshot;
  const mirror = set.mirror ?? product.mirror;
  if (mirror !== undefined) env.VMOPS_MIRROR = mirror;
  return env;
}
