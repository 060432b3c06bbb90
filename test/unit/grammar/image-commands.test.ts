// Grammar of the image commands: build, test, publish, deploy, update, revoke, images.
import { describe, expect, it } from 'vitest';
import { parsed, refusal } from './parse-fixture.ts';

const ALL_FORMATS = ['kvm', 'vmware', 'virtualbox', 'xen', 'hyperv', 'ec2'];
const FORMAT_LIST = 'cernvm is built for kvm, vmware, virtualbox, xen, hyperv, ec2 (or all)';
const BUILD_USAGE = 'Usage: build [product] <version> <format…|all>';

describe('build [product] <version> <format…|all>', () => {
  it('binds the default product, the version and a format', () => {
    const { spec, args } = parsed('build 2.6 kvm');
    expect(spec.name).toBe('build');
    expect(args).toMatchObject({ product: 'cernvm', version: '2.6', formats: ['kvm'] });
  });

  it('takes a product named first, in any case', () => {
    expect(parsed('build CernVM 2.6.1 vmware').args).toMatchObject({ product: 'cernvm', version: '2.6.1' });
  });

  it('resolves aliases to canonical names and collapses duplicates, keeping the order given', () => {
    expect(parsed('build 2.6 vbox qcow2 kvm VirtualBox vmdk').args.formats).toEqual([
      'virtualbox',
      'kvm',
      'vmware',
    ]);
  });

  it('turns all into every format of the product', () => {
    expect(parsed('build 2.6 all').args.formats).toEqual(ALL_FORMATS);
    expect(parsed('build cernvm 2.6 kvm ALL').args.formats).toEqual(ALL_FORMATS);
  });

  it('accepts versions with two to four parts only', () => {
    expect(parsed('build 2.6.1.4 kvm').args.version).toBe('2.6.1.4');
    expect(refusal('build 2 kvm').message).toBe("'2' is not a version: write it like 2.6 or 2.6.1");
    expect(refusal('build 2.6.1.4.5 kvm').code).toBe('bad_version');
  });

  it('refuses a version that is not one', () => {
    const error = refusal('build 2.x kvm');
    expect(error.code).toBe('bad_version');
    expect(error.message).toBe("'2.x' is not a version: write it like 2.6 or 2.6.1");
  });

  it('refuses a word that is neither product nor version, listing the products', () => {
    expect(refusal('build foo kvm').message).toBe(
      "'foo' is neither a product nor a version: products are cernvm (the default), demo; write a version like 2.6 or 2.6.1",
    );
  });

  it('suggests the format meant by a typo', () => {
    const error = refusal('build 2.6 vmwre');
    expect(error.code).toBe('unknown_format');
    expect(error.message).toBe(`unknown format 'vmwre': did you mean vmware? ${FORMAT_LIST}`);
  });

  it('suggests an alias with the format it stands for', () => {
    expect(refusal('build 2.6 vbx').message).toBe(
      `unknown format 'vbx': did you mean vbox (virtualbox)? ${FORMAT_LIST}`,
    );
  });

  it('lists the formats when nothing is close', () => {
    expect(refusal('build 2.6 floppy').message).toBe(`unknown format 'floppy': ${FORMAT_LIST}`);
  });

  it('suggests the product meant by a typo', () => {
    const error = refusal('build cernvn 2.6 kvm');
    expect(error.code).toBe('unknown_product');
    expect(error.message).toBe(
      "unknown product 'cernvn': did you mean cernvm? Products: cernvm (the default), demo; leave the product out for cernvm",
    );
  });

  it('says a version is missing, with the usage', () => {
    const error = refusal('build');
    expect(error.code).toBe('missing_argument');
    expect(error.message).toBe(`build needs a version, like 2.6 or 2.6.1. ${BUILD_USAGE}`);
  });

  it('says the formats are missing, listing them', () => {
    const error = refusal('build 2.6');
    expect(error.code).toBe('missing_argument');
    expect(error.message).toBe(`build needs at least one format: ${FORMAT_LIST}. ${BUILD_USAGE}`);
  });

  it('says the version comes before the formats', () => {
    const error = refusal('build kvm');
    expect(error.code).toBe('missing_argument');
    expect(error.message).toBe(`build needs a version before the formats, like 2.6. ${BUILD_USAGE}`);
  });

  it('refuses options it does not have', () => {
    const error = refusal('build 2.6 kvm --force');
    expect(error.code).toBe('bad_option');
    expect(error.message).toBe(`unknown option '--force': build takes no options. ${BUILD_USAGE}`);
  });
});

describe.each(['test', 'publish'])('%s [product] <version> [format…]', (name) => {
  it('leaves the formats empty when none are named (the handler takes every format)', () => {
    const { spec, args } = parsed(`${name} 2.6`);
    expect(spec.name).toBe(name);
    expect(args).toMatchObject({ product: 'cernvm', version: '2.6', formats: [] });
  });

  it('binds named formats and aliases', () => {
    expect(parsed(`${name} cernvm 2.6 qcow2 esx`).args.formats).toEqual(['kvm', 'vmware']);
  });

  it('refuses a missing version', () => {
    expect(refusal(name).message).toBe(
      `${name} needs a version, like 2.6 or 2.6.1. Usage: ${name} [product] <version> [format…]`,
    );
  });

  it('refuses an unknown format with a suggestion', () => {
    expect(refusal(`${name} 2.6 kvn`).message).toBe(`unknown format 'kvn': did you mean kvm? ${FORMAT_LIST}`);
  });

  it('refuses a second version as an unknown format', () => {
    expect(refusal(`${name} 2.6 2.7`).code).toBe('unknown_format');
  });
});

describe('deploy [product] <version> <cloud…> [--launch N] [--context "…"]', () => {
  it('binds clouds, without duplicates, in any case', () => {
    const { spec, args } = parsed('deploy 2.6 local LXPLUS-cloud local');
    expect(spec.name).toBe('deploy');
    expect(args).toMatchObject({ product: 'cernvm', version: '2.6', clouds: ['local', 'lxplus-cloud'] });
  });

  it('suggests the cloud meant by a typo', () => {
    const error = refusal('deploy 2.6 lxplus-clod');
    expect(error.code).toBe('unknown_cloud');
    expect(error.message).toBe(
      "unknown cloud 'lxplus-clod': did you mean lxplus-cloud? Clouds: local, lxplus-cloud",
    );
  });

  it('refuses a missing cloud, listing them', () => {
    expect(refusal('deploy 2.6').message).toBe(
      'deploy needs at least one cloud. Clouds: local, lxplus-cloud. Usage: deploy [product] <version> <cloud…> [--launch N] [--context "…"]',
    );
  });

  it('says the version comes before the clouds', () => {
    expect(refusal('deploy local').message).toBe(
      'deploy needs a version before the clouds, like 2.6. Usage: deploy [product] <version> <cloud…> [--launch N] [--context "…"]',
    );
  });

  it('refuses a bad version', () => {
    expect(refusal('deploy v2.6 local').message).toBe("'v2.6' is not a version: write it like 2.6 or 2.6.1");
  });
});

describe('update [product] <version>', () => {
  it('binds product and version', () => {
    expect(parsed('update 2.5').args).toMatchObject({ product: 'cernvm', version: '2.5' });
    expect(parsed('update cernvm 2.5.3').args.version).toBe('2.5.3');
  });

  it('refuses a word too many', () => {
    const error = refusal('update 2.5 kvm');
    expect(error.code).toBe('unexpected_argument');
    expect(error.message).toBe(
      "unexpected 'kvm': that is more than update takes. Usage: update [product] <version>",
    );
  });

  it('refuses a missing version', () => {
    expect(refusal('update').message).toBe(
      'update needs a version, like 2.6 or 2.6.1. Usage: update [product] <version>',
    );
  });
});

describe('revoke [product] <version> [--reason "…"] [--terminate]', () => {
  const USAGE = 'Usage: revoke [product] <version> [--reason "…"] [--terminate]';

  it.each([
    ['revoke 2.5 --reason "kernel CVE"', 'kernel CVE'],
    ['revoke 2.5 --reason=obsolete', 'obsolete'],
    ['revoke 2.5 reason="kernel CVE"', 'kernel CVE'],
    ['revoke 2.5 Reason=x', 'x'],
    ['revoke --reason “from a phone” 2.5', 'from a phone'],
    ['revoke 2.5 —reason dash', 'dash'],
    ['revoke 2.5 --reason=-5', '-5'],
    ['revoke 2.5 --reason -x', '-x'],
    ['revoke 2.5 --reason "-h"', '-h'],
    ['revoke 2.5 --reason "--help"', '--help'],
    ['revoke 2.5 reason=don’t', 'don’t'],
    ['revoke 2.5 --reason ‘two words’', 'two words'],
    ['revoke 2.5 —reason “it’s broken”', 'it’s broken'],
  ])('%s gives the reason %j', (text, reason) => {
    const { args } = parsed(text);
    expect(args).toMatchObject({ product: 'cernvm', version: '2.5', options: { reason } });
  });

  it('needs no reason', () => {
    expect(parsed('revoke 2.5').args.options).toEqual({});
  });

  it('suggests the option meant by a typo, listing the options', () => {
    const error = refusal('revoke 2.5 --resaon x');
    expect(error.code).toBe('bad_option');
    expect(error.message).toBe(
      `unknown option '--resaon' for revoke: did you mean --reason? Options: --reason "…", --terminate. ${USAGE}`,
    );
  });

  it('refuses --reason without a value', () => {
    expect(refusal('revoke 2.5 --reason').message).toBe(
      `--reason needs a value: write --reason "…". ${USAGE}`,
    );
  });

  it('refuses a word too many (a reason without quotes)', () => {
    expect(refusal('revoke 2.5 --reason kernel bug').message).toBe(
      `unexpected 'bug': that is more than revoke takes. ${USAGE}`,
    );
  });
});

describe('images [product] [version]', () => {
  it.each([
    ['images', { product: 'cernvm' }],
    ['images cernvm', { product: 'cernvm' }],
    ['images 2.6', { product: 'cernvm', version: '2.6' }],
    ['images cernvm 2.6', { product: 'cernvm', version: '2.6' }],
    ['catalog 2.6', { product: 'cernvm', version: '2.6' }],
  ])('%s', (text, expected) => {
    const { spec, args } = parsed(text);
    expect(spec.name).toBe('images');
    expect(args).toMatchObject(expected);
    if (!('version' in expected)) expect(args.version).toBeUndefined();
  });

  it('refuses a bad version, a close product and a word too many', () => {
    expect(refusal('images 2.6x').message).toBe("'2.6x' is not a version: write it like 2.6 or 2.6.1");
    expect(refusal('images cern').code).toBe('unknown_product');
    expect(refusal('images 2.6 kvm').message).toBe(
      "unexpected 'kvm': that is more than images takes. Usage: images [product] [version]",
    );
  });
});
