// A cloud's user-data template: filled from the deploy and --context, and refused with a clear
// reason before anything is sent when it would not reach cloud-init as valid cloud-config.
import { describe, expect, it } from 'vitest';
import { parseContext, renderUserData, USER_DATA_LIMIT } from '../../../src/clouds/user-data.ts';
import { VmopsError } from '../../../src/errors.ts';

const values = { product: 'cernvm', version: '2.6', cloud: 'aws', owner: 'alice' };

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(VmopsError);
    expect((error as VmopsError).code).toBe('bad_user_data');
    return (error as Error).message;
  }
  throw new Error('not refused');
}

describe('user-data templates', () => {
  it('fills placeholders with quoted values', () => {
    expect(renderUserData('#cloud-config\nvmops: {v: {{version}}, who: {{ owner }}}\n', values, 'aws')).toBe(
      '#cloud-config\nvmops: {v: "2.6", who: "alice"}\n',
    );
  });

  it('keeps a value from changing the document: a newline or a colon stays inside its string', () => {
    const text = renderUserData(
      '#cloud-config\nowner: {{owner}}\n',
      { owner: 'x\nruncmd: [rm -rf /]' },
      'aws',
    );
    expect(text).toBe('#cloud-config\nowner: "x\\nruncmd: [rm -rf /]"\n');
  });

  it('names a placeholder without a value and how to give it', () => {
    expect(refusal(() => renderUserData('#cloud-config\nsite: {{site}}\n', values, 'aws'))).toBe(
      'the user-data template of cloud aws uses site, which has no value: give it with --context site=… (known: product, version, cloud, owner)',
    );
  });

  it('refuses a template without the #cloud-config header, YAML that does not parse, and too much', () => {
    expect(refusal(() => renderUserData('runcmd: []\n', values, 'aws'))).toContain(
      'does not start with a #cloud-config line',
    );
    expect(refusal(() => renderUserData('#cloud-config\nruncmd: [\n', values, 'aws'))).toContain(
      'is not valid YAML once rendered',
    );
    expect(refusal(() => renderUserData('#cloud-config\n- a list\n', values, 'aws'))).toContain(
      'must be a YAML mapping',
    );
    const big = `#cloud-config\nx: "${'a'.repeat(USER_DATA_LIMIT)}"\n`;
    expect(refusal(() => renderUserData(big, values, 'aws'))).toMatch(
      /is \d+ bytes once rendered: clouds take at most 16384/,
    );
  });

  it('reads --context pairs and refuses what is not one', () => {
    expect(parseContext('owner=alice, site=cern,empty=')).toEqual({
      owner: 'alice',
      site: 'cern',
      empty: '',
    });
    expect(parseContext(undefined)).toEqual({});
    expect(refusal(() => parseContext('owner'))).toBe(
      '--context takes key=value pairs separated by commas (owner=alice,site=cern), not "owner"',
    );
  });
});
