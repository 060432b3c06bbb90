// How `update` describes the packages a new revision changed, for the chat and the catalog.
import type { PackageChange } from './catalog.ts';

/** `r1: 2 packages changed: tzdata 2025b-0+deb12u1 → 2026f-0+deb12u1, …`, for the chat. */
export function describeChanges(revision: number, changes: readonly PackageChange[], limit = 5): string {
  if (changes.length === 0) return `r${revision}: no package changed`;
  const shown = changes.slice(0, limit).map((c) => `${c.name} ${c.from ?? '(new)'} → ${c.to ?? '(removed)'}`);
  const more = changes.length > limit ? `, and ${changes.length - limit} more` : '';
  return `r${revision}: ${changes.length} package${changes.length === 1 ? '' : 's'} changed: ${shown.join(', ')}${more}`;
}
