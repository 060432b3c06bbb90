// The six stage commands queue one job per format, cloud or version, and answer with the job ids.
import { describe, expect, it } from 'vitest';
import { fakeJobs, person, roomMessage, run } from './fake-context.ts';

const ALL_FORMATS = ['kvm', 'vmware', 'virtualbox', 'xen', 'hyperv', 'ec2'];

async function submitted(text: string) {
  const jobs = fakeJobs();
  const outcome = await run(text, { jobs: jobs.control });
  const submits = jobs.calls.filter((call) => call.method === 'submit');
  expect(submits).toHaveLength(1);
  const [call] = submits;
  if (call?.method !== 'submit') throw new Error('no submit');
  return { outcome, requests: call.requests, context: call.context };
}

describe('stage commands', () => {
  it('build queues one job per format, aliases resolved, and posts no reply of its own', async () => {
    const { outcome, requests } = await submitted('build 2.6 kvm vbox');
    expect(requests).toEqual([
      { stage: 'build', product: 'cernvm', version: '2.6', format: 'kvm' },
      { stage: 'build', product: 'cernvm', version: '2.6', format: 'virtualbox' },
    ]);
    expect(outcome).toEqual({ jobs: ['job1abc', 'job2abc'] });
  });

  it('build all queues every format of the product', async () => {
    const { requests } = await submitted('build cernvm 2.6.1 all');
    expect(requests.map((request) => request.format)).toEqual(ALL_FORMATS);
  });

  it('passes who asked, the message and the command as typed', async () => {
    const principal = person('bob', ['operator']);
    const jobs = fakeJobs();
    const message = roomMessage('@vmops   build 2.6 kvm  ');
    await run('build 2.6 kvm', { jobs: jobs.control, principal, message });
    expect(jobs.calls[0]).toEqual({
      method: 'submit',
      requests: [{ stage: 'build', product: 'cernvm', version: '2.6', format: 'kvm' }],
      context: { principal, message, commandText: 'build 2.6 kvm' },
    });
  });

  it.each(['test', 'publish'] as const)('%s without formats queues every format', async (stage) => {
    const { requests, outcome } = await submitted(`${stage} 2.6`);
    expect(requests.map((request) => request.format)).toEqual(ALL_FORMATS);
    expect(requests.every((request) => request.stage === stage && request.version === '2.6')).toBe(true);
    expect(outcome.jobs).toHaveLength(6);
  });

  it.each(['test', 'publish'] as const)('%s with formats queues just those', async (stage) => {
    const { requests } = await submitted(`${stage} 2.6 qcow2`);
    expect(requests).toEqual([{ stage, product: 'cernvm', version: '2.6', format: 'kvm' }]);
  });

  it('deploy queues one job per cloud', async () => {
    const { requests } = await submitted('deploy 2.6 local lxplus-cloud');
    expect(requests).toEqual([
      { stage: 'deploy', product: 'cernvm', version: '2.6', cloud: 'local' },
      { stage: 'deploy', product: 'cernvm', version: '2.6', cloud: 'lxplus-cloud' },
    ]);
  });

  it('update queues one job', async () => {
    const { requests, outcome } = await submitted('update 2.5');
    expect(requests).toEqual([{ stage: 'update', product: 'cernvm', version: '2.5' }]);
    expect(outcome).toEqual({ jobs: ['job1abc'] });
  });

  it('revoke passes the reason as a parameter', async () => {
    const { requests } = await submitted('revoke 2.5 --reason " kernel CVE "');
    expect(requests).toEqual([
      { stage: 'revoke', product: 'cernvm', version: '2.5', params: { reason: 'kernel CVE' } },
    ]);
  });

  it('revoke without a reason (or an empty one) passes no parameters', async () => {
    expect((await submitted('revoke 2.5')).requests).toEqual([
      { stage: 'revoke', product: 'cernvm', version: '2.5' },
    ]);
    expect((await submitted('revoke 2.5 reason=')).requests[0]).not.toHaveProperty('params');
  });
});
