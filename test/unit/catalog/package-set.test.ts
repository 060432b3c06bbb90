// A version's package set from config, as the recipe steps receive it; and what `config check` says
// about a package set that is written wrong.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultConfigPath, loadConfig } from '../../../src/app/config-load.ts';
import { describeChanges } from '../../../src/catalog/package-changes.ts';
import { packageSetEnvironment } from '../../../src/catalog/package-set.ts';
import { configProblems } from '../../helpers/config-problems.ts';

const config = loadConfig();
const defaults = readFileSync(defaultConfigPath, 'utf8');

const problems = (text: string) => configProblems(text);

describe('package sets', () => {
  it('gives the steps the suite, the product and version packages, and the pins', () => {
    expect(packageSetEnvironment(config.products.cernvm, '2.5')).toEqual({
      VMOPS_SUITE: 'bookworm',
      VMOPS_PACKAGES: 'linux-image-cloud-amd64,systemd-sysv,udev,ifupdown,iproute2,cloud-init,tzdata',
      VMOPS_PINS: 'tzdata=2025b-0+deb12u1',
    });
    expect(packageSetEnvironment(config.products.cernvm, '2.6')).toMatchObject({ VMOPS_PINS: '' });
  });

  it('gives nothing for a version without a package set, or a product that collects no packages', () => {
    expect(packageSetEnvironment(config.products.cernvm, '9.9')).toEqual({});
    expect(packageSetEnvironment(config.products.cernvm, 'constructor')).toEqual({});
    expect(packageSetEnvironment(config.products.demo, '2.6')).toEqual({});
  });

  it('passes a snapshot and the version mirror (else the product mirror)', () => {
    const product = structuredClone(config.products.cernvm);
    if (!product) throw new Error('no cernvm');
    product.mirror = 'http://mirror.example.org/debian';
    product.versions['3.0'] = { suite: 'trixie', packages: ['vim'], pins: {}, snapshot: '20250520T000000Z' };
    expect(packageSetEnvironment(product, '3.0')).toMatchObject({
      VMOPS_SUITE: 'trixie',
      VMOPS_SNAPSHOT: '20250520T000000Z',
      VMOPS_MIRROR: 'http://mirror.example.org/debian',
    });
  });

  it('config check names the file, the key and what is wrong', () => {
    const bad = (from: string, to: string) => problems(defaults.replace(from, to));
    expect(bad('packages: [tzdata] }', 'packages: [Tz_Data] }')).toMatch(
      /my\.yaml:\d+: products\.cernvm\.versions\.2\.6\.packages\[0\]: must be a Debian package name/,
    );
    expect(bad('"2.6": { suite: bookworm', '"2.6": { suite: Bookworm')).toMatch(
      /products\.cernvm\.versions\.2\.6\.suite: must be a Debian suite name, like bookworm/,
    );
    expect(bad('"2.6": { suite: bookworm', '"two": { suite: bookworm')).toMatch(
      /products\.cernvm\.versions\.two: "two" is not a version: write it like "2\.6"/,
    );
    expect(bad('pins: { tzdata: 2025b-0+deb12u1 }', 'pins: { tzdata: "2025b 0" }')).toMatch(
      /products\.cernvm\.versions\.2\.5\.pins\.tzdata: must be a Debian package version/,
    );
    expect(bad('"2.6": { suite: bookworm,', '"2.6": { suite: bookworm, snapshot: yesterday,')).toMatch(
      /products\.cernvm\.versions\.2\.6\.snapshot: must be a snapshot\.debian\.org time stamp/,
    );
    expect(bad('"2.6": { suite: bookworm,', '"2.6": { suite: bookworm, mirrors: x,')).toMatch(
      /products\.cernvm\.versions\.2\.6: Unrecognized key: "mirrors"/,
    );
  });
});

describe('describeChanges', () => {
  it('names each changed package with its old and new version', () => {
    expect(describeChanges(1, [{ name: 'tzdata', from: '2025b-0+deb12u1', to: '2026f-0+deb12u1' }])).toBe(
      'r1: 1 package changed: tzdata 2025b-0+deb12u1 → 2026f-0+deb12u1',
    );
    expect(
      describeChanges(
        2,
        [
          { name: 'a', to: '1' },
          { name: 'b', from: '2' },
          { name: 'c', from: '1', to: '2' },
        ],
        2,
      ),
    ).toBe('r2: 3 packages changed: a (new) → 1, b 2 → (removed), and 1 more');
    expect(describeChanges(3, [])).toBe('r3: no package changed');
  });
});
