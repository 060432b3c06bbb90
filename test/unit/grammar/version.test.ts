// One spelling per version: `2.07` is 2.7, never a version of its own; parts are bounded; comparisons
// are between canonical forms, exactly, whatever the size of a part.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { approvalReason } from '../../../src/approvals/approval-policy.ts';
import {
  canonicalVersion,
  compareVersions,
  MAX_PART_DIGITS,
  newestVersion,
  readVersion,
  VERSION_PATTERN,
} from '../../../src/grammar/version.ts';
import { config, parsed, refusal } from './parse-fixture.ts';

/** A version-shaped string: 2 to 4 parts, each with up to 3 leading zeros and up to MAX_PART_DIGITS digits. */
const part = fc.tuple(
  fc.integer({ min: 0, max: 3 }),
  fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 10 ** MAX_PART_DIGITS - 1 })),
);
const spelling = fc
  .array(part, { minLength: 2, maxLength: 4 })
  .map((parts) => parts.map(([zeros, n]) => `${'0'.repeat(zeros)}${n}`).join('.'));

/** The version as a list of numbers, compared the obvious way (the oracle). */
const numbers = (v: string) => v.split('.').map(Number);
function oracle(a: string, b: string): number {
  const [l, r] = [numbers(a), numbers(b)];
  for (let i = 0; i < Math.min(l.length, r.length); i++) {
    const d = (l[i] ?? 0) - (r[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return Math.sign(l.length - r.length);
}

describe('version spelling', () => {
  it('canonical form is idempotent and canonical', () => {
    fc.assert(
      fc.property(spelling, (v) => {
        const c = canonicalVersion(v);
        expect(c).toBeDefined();
        expect(canonicalVersion(c ?? '')).toBe(c);
        expect(c).toMatch(VERSION_PATTERN);
        expect(readVersion(c ?? '').kind).toBe('canonical');
      }),
    );
  });

  it('canonical form preserves order', () => {
    fc.assert(
      fc.property(spelling, spelling, (a, b) => {
        const [ca, cb] = [canonicalVersion(a) ?? '', canonicalVersion(b) ?? ''];
        expect(Math.sign(compareVersions(ca, cb))).toBe(Math.sign(compareVersions(a, b)));
        expect(Math.sign(compareVersions(a, b))).toBe(oracle(a, b));
      }),
    );
  });

  it('two spellings compare equal exactly when their canonical forms are equal', () => {
    const samePart = fc.array(fc.tuple(part, fc.integer({ min: 0, max: 3 })), { minLength: 2, maxLength: 4 });
    const pair = fc.oneof(
      fc.tuple(spelling, spelling),
      // the same version under two spellings, so the equal case is not left to chance
      samePart.map((parts) => [
        parts.map(([[zeros, n]]) => `${'0'.repeat(zeros)}${n}`).join('.'),
        parts.map(([[, n], zeros]) => `${'0'.repeat(zeros)}${n}`).join('.'),
      ]),
    );
    fc.assert(
      fc.property(pair, ([a, b]) => {
        expect(compareVersions(a ?? '', b ?? '') === 0).toBe(
          canonicalVersion(a ?? '') === canonicalVersion(b ?? ''),
        );
      }),
    );
  });

  it('compares parts beyond floating point exactly', () => {
    expect(compareVersions('99999999999999999999.1', '99999999999999999998.1')).toBeGreaterThan(0);
    expect(compareVersions('2.10', '2.9')).toBeGreaterThan(0);
    expect(compareVersions('2.07', '2.7')).toBe(0);
    expect(compareVersions('2.6', '2.6.0')).toBeLessThan(0);
  });

  it('reads spellings, bounds and non-versions', () => {
    expect(readVersion('2.7')).toEqual({ kind: 'canonical', version: '2.7' });
    expect(readVersion('02.05')).toEqual({ kind: 'spelling', version: '2.5' });
    expect(readVersion('99999999999999999999.1').kind).toBe('out_of_bounds');
    expect(readVersion('1.2.3.4.5').kind).toBe('out_of_bounds');
    expect(readVersion('2').kind).toBe('out_of_bounds');
    expect(readVersion('2.x').kind).toBe('not_a_version');
  });
});

describe('commands and versions', () => {
  it('refuses another spelling of a version with the canonical one suggested', () => {
    for (const [typed, meant] of [
      ['build 2.07 kvm', '2.7'],
      ['revoke 02.5', '2.5'],
      ['publish cernvm 2.05', '2.5'],
      ['deploy 2.07 local', '2.7'],
    ] as const) {
      const error = refusal(typed);
      expect(error.code).toBe('bad_version');
      expect(error.message).toContain(`did you mean ${meant}?`);
    }
    expect(parsed('build 2.7 kvm').args.version).toBe('2.7');
  });

  it('refuses oversized versions, so none can become the newest', () => {
    const error = refusal('build 99999999999999999999.1 kvm');
    expect(error.code).toBe('bad_version');
    expect(error.message).toContain(`at most ${MAX_PART_DIGITS} digits`);
  });

  it('does not hold publishes back behind a version that never should have existed', async () => {
    const versions = ['99999999999999999999.1', '2.07', '2.6'];
    expect(newestVersion(versions)).toBe('2.6');
    const catalog = { versions: async () => versions };
    expect(
      await approvalReason('publish', { product: 'cernvm', version: '2.6', clouds: [] }, config, catalog),
    ).toBe(undefined);
    expect(
      await approvalReason('publish', { product: 'cernvm', version: '2.5', clouds: [] }, config, catalog),
    ).toMatch(/older than the newest version 2\.6/);
  });
});
