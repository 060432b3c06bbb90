// Did-you-mean: the known word closest to what was typed, if it is close enough to be a likely typo.
import { distance } from 'fastest-levenshtein';

/** True when b is a with two neighbouring characters swapped (`buidl` for `build`). */
function isSwap(a: string, b: string): boolean {
  if (a.length !== b.length || a === b) return false;
  let i = 0;
  while (a[i] === b[i]) i++;
  return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}

/**
 * The candidate closest to `word` (case-insensitive), or undefined when none is close: within
 * max(1, ⌊length/3⌋) edits, one swap of neighbouring letters, or starting with the word (2+ letters).
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const wanted = word.toLowerCase();
  if (wanted === '') return undefined;
  const limit = Math.max(1, Math.floor(wanted.length / 3));
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const known = candidate.toLowerCase();
    if (known === wanted) return candidate;
    const isPrefix = wanted.length >= 2 && known.startsWith(wanted);
    if (!isPrefix && Math.abs(known.length - wanted.length) > limit) continue;
    const edits = isSwap(wanted, known) ? 1 : distance(wanted, known);
    if (!isPrefix && edits > limit) continue;
    if (edits < bestScore) {
      best = candidate;
      bestScore = edits;
    }
  }
  return best;
}
