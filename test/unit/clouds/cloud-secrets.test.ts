// A cloud's secrets reach only the step marked cloudAccess: not the recipe's other steps, not the
// log, not the job's parameters.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../config/schema.ts';
import { CLOUD_SETTINGS_VAR, cloudStepEnvironment } from '../../../src/clouds/cloud-settings.ts';
import type { JobData } from '../../../src/types.ts';
import { runStage } from '../../../src/worker/run-stage.ts';
import { jobEnvironment } from '../../../src/worker/stage-worker.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vmops-cloud-secrets-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SECRET = 'aws-secret-never-elsewhere';
const clouds: Config['clouds'] = {
  aws: {
    driver: 'ec2',
    description: '',
    tags: [],
    format: 'kvm',
    region: 'us-east-1',
    bucket: 'vmops-images',
    forcePathStyle: true,
    accessKeyId: 'AKIA',
    secretAccessKey: SECRET,
    snapshot: 'volume',
    architecture: 'x86_64',
    instanceType: 't3.micro',
    timeout: 30_000,
  },
  local: { driver: 'directory', description: '', tags: [] },
};

const job = (stage: JobData['stage'], cloud?: string): JobData => ({
  jobId: 'j1',
  stage,
  product: 'cernvm',
  version: '2.6',
  ...(cloud === undefined ? {} : { cloud }),
  params: {},
  requestedBy: { person: 'alice', network: 'fake', account: 'alice', displayName: 'alice' },
  origin: { network: 'fake', room: 'r', isDirect: false },
  eventKey: 'fake:e1',
  commandText: 'deploy 2.6 aws',
  createdAt: 0,
});

describe('cloud secrets', () => {
  it('go only to the step marked cloudAccess', async () => {
    const data = job('deploy', 'aws');
    const log: string[] = [];
    await runStage({
      steps: [
        { name: 'recipe', run: ['bash', '-c', 'env'] },
        {
          name: 'upload',
          run: ['bash', '-c', `echo "seen=\${${CLOUD_SETTINGS_VAR}:+yes}"`],
          cloudAccess: true,
        },
      ],
      params: jobEnvironment(data, tmp, tmp, clouds),
      cloudEnv: cloudStepEnvironment(data, clouds),
      cwd: tmp,
      repoRoot: resolve(import.meta.dirname, '../../..'),
      defaultTimeoutMs: 10_000,
      onLog: (line) => log.push(line),
    });
    expect(log).toContain('seen=yes');
    expect(log.join('\n')).not.toContain(SECRET);
    expect(log.join('\n')).toContain('VMOPS_CLOUD_DRIVER=ec2');
    expect(JSON.stringify(jobEnvironment(data, tmp, tmp, clouds))).not.toContain(SECRET);
  });

  it("hold the deploy job's own cloud only; update and revoke get every cloud; other stages none", () => {
    expect(
      Object.keys(
        JSON.parse(cloudStepEnvironment(job('deploy', 'local'), clouds)[CLOUD_SETTINGS_VAR] ?? '{}'),
      ),
    ).toEqual(['local']);
    expect(
      Object.keys(JSON.parse(cloudStepEnvironment(job('revoke'), clouds)[CLOUD_SETTINGS_VAR] ?? '{}')),
    ).toEqual(['aws', 'local']);
    expect(cloudStepEnvironment(job('build'), clouds)).toEqual({});
  });
});
