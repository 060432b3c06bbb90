// One spelling per version (DESIGN.md "The lifecycle it manages"): a version is 2 to 4 dot-separated
// numbers without leading zeros, each at most MAX_PART_DIGITS digits. `2.07` and `2.7` are one version,
// so a spelling that is not canonical is refused with the canonical one suggested, never taken for a
// new version; and every comparison (revocation, "newest", the gates) is between canonical forms.

/** Parts a version has: `2.6` to `2.6.1.3`. */
export const MIN_PARTS = 2;
export const MAX_PARTS = 4;
/** Digits a part may have once its leading zeros are gone (a build number, a date like 20261206 fit). */
export const MAX_PART_DIGITS = 8;

/** Anything that looks like a version, leading zeros and oversized parts included. */
export const VERSION_SHAPE = /^\d+(\.\d+){1,3}$/;
/** A version as it is written here: canonical and within bounds. */
export const VERSION_PATTERN = new RegExp(
  `^(0|[1-9]\\d{0,${MAX_PART_DIGITS - 1}})(\\.(0|[1-9]\\d{0,${MAX_PART_DIGITS - 1}})){${MIN_PARTS - 1},${MAX_PARTS - 1}}$`,
);

/** What reading a word as a version gave. */
export type VersionReading =
  | { kind: 'canonical'; version: string }
  /** A spelling of a canonical version (`2.07` for `2.7`). */
  | { kind: 'spelling'; version: string }
  /** Version-shaped but out of bounds: a part too long, or too many or too few parts. */
  | { kind: 'out_of_bounds'; reason: string }
  | { kind: 'not_a_version' };

const stripZeros = (part: string): string => part.replace(/^0+(?=\d)/, '');

/** Reads a word as a version: canonical, another spelling of one, out of bounds, or no version at all. */
export function readVersion(word: string): VersionReading {
  if (!/^\d+(\.\d+)*$/.test(word)) return { kind: 'not_a_version' };
  const parts = word.split('.').map(stripZeros);
  if (parts.length < MIN_PARTS || parts.length > MAX_PARTS) {
    return {
      kind: 'out_of_bounds',
      reason: `a version has ${MIN_PARTS} to ${MAX_PARTS} parts, like 2.6 or 2.6.1`,
    };
  }
  if (parts.some((part) => part.length > MAX_PART_DIGITS)) {
    return { kind: 'out_of_bounds', reason: `each part of a version has at most ${MAX_PART_DIGITS} digits` };
  }
  const version = parts.join('.');
  return version === word ? { kind: 'canonical', version } : { kind: 'spelling', version };
}

/**
 * The canonical form of a version-shaped string (leading zeros dropped), or undefined when it is no
 * version or out of bounds. Idempotent: canonicalVersion(canonicalVersion(v)) === canonicalVersion(v).
 */
export function canonicalVersion(word: string): string | undefined {
  const reading = readVersion(word);
  return reading.kind === 'canonical' || reading.kind === 'spelling' ? reading.version : undefined;
}

/**
 * Compares two versions part by part as whole numbers (`2.10` is newer than `2.9`, `2.07` equals `2.7`,
 * `2.6` comes before `2.6.0`, which is another version). Parts are compared as digit strings without
 * leading zeros, so no size is too big to compare exactly. Negative when a is older, positive when
 * newer, 0 exactly when both have one canonical form.
 */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(stripZeros);
  const right = b.split('.').map(stripZeros);
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const l = left[i] ?? '';
    const r = right[i] ?? '';
    if (l.length !== r.length) return l.length < r.length ? -1 : 1;
    if (l !== r) return l < r ? -1 : 1;
  }
  return Math.sign(left.length - right.length);
}

/** The newest of the versions that are canonical and within bounds (others never existed rightly). */
export function newestVersion(versions: readonly string[]): string | undefined {
  return versions
    .filter((v) => VERSION_PATTERN.test(v))
    .reduce<string | undefined>(
      (best, v) => (best === undefined || compareVersions(v, best) > 0 ? v : best),
      undefined,
    );
}
