// `config check` explains a mistake in a cloud: the driver, the format, the endpoint, a secret
// whose environment variable is unset; `type` still names the driver, as older configs wrote it.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/app/config-load.ts';
import { configProblems } from '../../helpers/config-problems.ts';

const base = `
defaultProduct: cernvm
products: { cernvm: { formats: [kvm] } }
formats: { kvm: {} }
`;

const problems = (clouds: string, env: NodeJS.ProcessEnv = {}) =>
  configProblems(`${base}clouds:\n${clouds}`, { env, file: 'test.yaml', accepted: 'valid' });

describe('clouds in config', () => {
  it('accepts a glance and an ec2 cloud with secrets from the environment, and type as driver', () => {
    const config = parseConfig(
      `${base}clouds:
  local: { type: directory, path: clouds/local }
  openstack: { driver: glance, format: kvm, endpoint: "https://glance.example.org:9292/", token: "\${OS_TOKEN}" }
  aws:
    driver: ec2
    format: kvm
    region: eu-west-1
    bucket: vmops-images
    accessKeyId: "\${AWS_ACCESS_KEY_ID}"
    secretAccessKey: "\${AWS_SECRET_ACCESS_KEY}"
`,
      'test.yaml',
      { OS_TOKEN: 'tok', AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'secret' },
    );
    expect(config.clouds.local).toMatchObject({ driver: 'directory', path: 'clouds/local' });
    expect(config.clouds.openstack).toMatchObject({
      driver: 'glance',
      endpoint: 'https://glance.example.org:9292',
      token: 'tok',
      visibility: 'shared',
    });
    expect(config.clouds.aws).toMatchObject({
      driver: 'ec2',
      secretAccessKey: 'secret',
      snapshot: 'import',
      forcePathStyle: false,
    });
  });

  it('names the key and what is wrong', () => {
    expect(problems('  os: { driver: openstack }\n')).toContain(
      'test.yaml:6: clouds.os.driver: driver must be directory, glance or ec2',
    );
    expect(problems('  os: { driver: glance, format: vmdk, endpoint: "glance:9292" }\n')).toMatch(
      /clouds\.os\.endpoint: must be a URL like https:\/\/glance\.example\.org:9292[\s\S]*clouds\.os\.format: "vmdk" is not a format listed under formats \(kvm\)/,
    );
    expect(
      problems(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${ENV} reference in config text, not a template
        '  aws: { driver: ec2, format: kvm, region: eu-west-1, bucket: b1b, accessKeyId: "${AWS_KEY}", secretAccessKey: x }\n',
      ),
    ).toContain('clouds.aws.accessKeyId: environment variable AWS_KEY is not set');
    expect(
      problems('  aws: { driver: ec2, format: kvm, region: eu-west-1, bucket: b1b, accessKeyId: a }\n'),
    ).toContain('clouds.aws.secretAccessKey:');
  });
});
