// jobs, status, log, cancel and retry: what they ask the job services and what the room sees.

import { describe, expect, it } from 'vitest';
import type { VmopsError } from '../../../src/errors.ts';
import type { JobStatusView } from '../../../src/types.ts';
import { fakeJobs, person, run, view } from './fake-context.ts';

const running = view({
  jobId: 'k3x9q2ab-kvm',
  state: 'running',
  step: 2,
  steps: 3,
  stepName: 'assemble',
  percent: 45,
  startedAt: 2_000,
  message: 'converting disk',
});
const failed = view({
  jobId: 'h7m2p4cd-vmware',
  format: 'vmware',
  state: 'failed',
  step: 3,
  steps: 3,
  stepName: 'convert',
  percent: 80,
  requestedBy: 'Bob',
  startedAt: 2_000,
  finishedAt: 65_000,
  error: 'qemu-img exited with 1',
  attempts: 2,
});
const deploy = view({ jobId: 'z9y8x7w6-local', stage: 'deploy', cloud: 'local', state: 'succeeded' });
const { format: _none, ...deployWithoutFormat } = deploy;

const refusal = async (promise: Promise<unknown>): Promise<VmopsError> => {
  try {
    await promise;
  } catch (error) {
    return error as VmopsError;
  }
  throw new Error('expected a refusal');
};

describe('jobs', () => {
  it('lists the ten most recent jobs, one line each', async () => {
    const jobs = fakeJobs([running, failed, deployWithoutFormat]);
    const outcome = await run('jobs', { jobs: jobs.control });
    expect(jobs.calls).toEqual([{ method: 'list', limit: 10 }]);
    expect(outcome.reply?.text).toBe(
      [
        'Recent jobs, newest first (status <job> for details):',
        'k3x9q2ab-kvm  build cernvm 2.6 kvm  running, step 2/3  by Alice',
        'h7m2p4cd-vmware  build cernvm 2.6 vmware  failed, step 3/3  by Bob',
        'z9y8x7w6-local  deploy cernvm 2.6 local  succeeded  by Alice',
      ].join('\n'),
    );
    expect(outcome.reply?.tone).toBe('info');
  });

  it('honours --limit', async () => {
    const jobs = fakeJobs([running, failed]);
    const outcome = await run('jobs --limit 1', { jobs: jobs.control });
    expect(jobs.calls).toEqual([{ method: 'list', limit: 1 }]);
    expect(outcome.reply?.text.split('\n')).toHaveLength(2);
  });

  it('says how to start when there are no jobs', async () => {
    expect((await run('jobs')).reply?.text).toBe(
      'No jobs yet: start one with build <version> <format>, e.g. build 2.6 kvm.',
    );
  });

  it('shows display names with their escapes made visible', async () => {
    const jobs = fakeJobs([view({ jobId: 'abcd2345', requestedBy: 'Eve\u001b[2J\u202E' })]);
    expect((await run('jobs', { jobs: jobs.control })).reply?.text).toContain('by Eve\\x1b[2J\\u202e');
  });
});

describe('status', () => {
  it('without a job, is the jobs list', async () => {
    const jobs = fakeJobs([running]);
    const outcome = await run('status', { jobs: jobs.control });
    expect(jobs.calls).toEqual([{ method: 'list', limit: 10 }]);
    expect(outcome.reply?.text).toContain('k3x9q2ab-kvm  build cernvm 2.6 kvm  running, step 2/3  by Alice');
  });

  it('shows one failed job in detail', async () => {
    const jobs = fakeJobs([failed]);
    const outcome = await run('status H7M2P4CD-vmware', { jobs: jobs.control });
    expect(jobs.calls).toEqual([{ method: 'get', jobId: 'h7m2p4cd-vmware' }]);
    expect(outcome.reply?.text).toBe(
      [
        'h7m2p4cd-vmware  build cernvm 2.6 vmware  failed, step 3/3  by Bob',
        'ran for 1:03 · step: convert · attempt 2',
        'error: qemu-img exited with 1',
        'type log h7m2p4cd-vmware for its log',
      ].join('\n'),
    );
  });

  it('shows a running job with its last message', async () => {
    const text = (await run('status k3x9q2ab-kvm', { jobs: fakeJobs([running]).control })).reply?.text ?? '';
    expect(text).toMatch(
      /^k3x9q2ab-kvm {2}build cernvm 2\.6 kvm {2}running, step 2\/3 {2}by Alice\nrunning for [\d:]+, 45% done · step: assemble\nlast message: converting disk$/,
    );
  });

  it('says a job cancelled before it started only waited', async () => {
    const cancelled = view({
      jobId: 'abcd2345-kvm',
      state: 'cancelled',
      finishedAt: 6_000,
      error: 'cancelled by bob before it started',
    });
    const text = (await run('status abcd2345-kvm', { jobs: fakeJobs([cancelled]).control })).reply?.text;
    expect(text).toBe(
      [
        'abcd2345-kvm  build cernvm 2.6 kvm  cancelled  by Alice',
        'waited 0:05 in the queue',
        'error: cancelled by bob before it started',
      ].join('\n'),
    );
  });

  it('answers unknown_job for a job that does not exist', async () => {
    const error = await refusal(run('status abcd2345'));
    expect(error.code).toBe('unknown_job');
    expect(error.message).toBe("no job 'abcd2345': type jobs to see recent jobs.");
  });
});

describe('log', () => {
  const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);

  it('shows the last 20 lines by default', async () => {
    const jobs = fakeJobs([running], { 'k3x9q2ab-kvm': lines });
    const outcome = await run('log k3x9q2ab-kvm', { jobs: jobs.control });
    expect(jobs.calls).toEqual([{ method: 'logs', jobId: 'k3x9q2ab-kvm', tail: 20 }]);
    const text = outcome.reply?.text.split('\n') ?? [];
    expect(text[0]).toBe('Log of k3x9q2ab-kvm, last 20 lines:');
    expect(text.slice(1)).toEqual(lines.slice(10));
  });

  it('honours --tail and shows control characters in log lines escaped', async () => {
    const jobs = fakeJobs([running], { 'k3x9q2ab-kvm': ['\u001b[32mok\u001b[0m'] });
    const outcome = await run('log k3x9q2ab-kvm --tail 1', { jobs: jobs.control });
    expect(jobs.calls).toEqual([{ method: 'logs', jobId: 'k3x9q2ab-kvm', tail: 1 }]);
    expect(outcome.reply?.text).toBe('Log of k3x9q2ab-kvm, last 1 line:\n\\x1b[32mok\\x1b[0m');
  });

  it('says when a job has no log yet', async () => {
    const jobs = fakeJobs([running], { 'k3x9q2ab-kvm': [] });
    expect((await run('log k3x9q2ab-kvm', { jobs: jobs.control })).reply?.text).toBe(
      'Job k3x9q2ab-kvm has no log lines yet.',
    );
  });

  it('answers unknown_job for a job that does not exist', async () => {
    const error = await refusal(run('log abcd2345'));
    expect(error.code).toBe('unknown_job');
    expect(error.message).toBe("no job 'abcd2345': type jobs to see recent jobs.");
  });
});

describe('cancel', () => {
  const queued = view({ jobId: 'abcd2345-kvm' });

  it('cancels a queued job as the asker and says it is cancelled', async () => {
    const alice = person('alice', ['operator']);
    const jobs = fakeJobs([queued]);
    const outcome = await run('cancel ABCD2345-kvm', { jobs: jobs.control, principal: alice });
    expect(jobs.calls).toEqual([{ method: 'cancel', jobId: 'abcd2345-kvm', by: alice }]);
    expect(outcome).toEqual({ reply: { text: 'Cancelled abcd2345-kvm: build cernvm 2.6 kvm.', tone: 'ok' } });
  });

  it('asks a running job to stop, and says its status message will tell when it has', async () => {
    const jobs = fakeJobs([running]);
    const outcome = await run('cancel k3x9q2ab-kvm', { jobs: jobs.control });
    expect(jobs.calls.map((call) => call.method)).toEqual(['cancel']);
    expect(outcome.reply).toEqual({
      text: 'Cancel requested for k3x9q2ab-kvm; its status message will say when it has stopped.',
      tone: 'info',
    });
  });

  it('passes on the refusal for a job that has finished', async () => {
    const error = await refusal(run('cancel h7m2p4cd-vmware', { jobs: fakeJobs([failed]).control }));
    expect(error.code).toBe('job_state');
  });
});

/** A version-wide or per-cloud job has no format. */
function withoutFormat(job: JobStatusView): JobStatusView {
  const { format: _format, ...rest } = job;
  return rest;
}

describe('retry', () => {
  it('queues the job again from this room and follows it with a status message', async () => {
    const alice = person('alice', ['operator']);
    const jobs = fakeJobs([failed]);
    const outcome = await run('retry h7m2p4cd-vmware', { jobs: jobs.control, principal: alice });
    expect(jobs.calls.filter((c) => c.method !== 'get')).toEqual([
      {
        method: 'retry',
        jobId: 'h7m2p4cd-vmware',
        by: alice,
        origin: { network: 'shell', room: 'tty', isDirect: false },
      },
    ]);
    expect(outcome).toEqual({ jobs: ['h7m2p4cd-vmware'] });
  });

  it('passes on the refusal for a job that is still running', async () => {
    const error = await refusal(run('retry k3x9q2ab-kvm', { jobs: fakeJobs([running]).control }));
    expect(error.code).toBe('job_state');
  });

  it.each([
    [
      withoutFormat(view({ jobId: 'r5v2k8mn', stage: 'revoke', version: '2.5', state: 'failed' })),
      'r5v2k8mn is a revoke job, and revoke always waits for an approval: retrying it needs a new approval. Ask again with `revoke cernvm 2.5`.',
    ],
    [
      withoutFormat(
        view({ jobId: 'd5v2k8mn-lxplus-cloud', stage: 'deploy', state: 'failed', cloud: 'lxplus-cloud' }),
      ),
      'd5v2k8mn-lxplus-cloud is a deploy job, and deploy to lxplus-cloud (tagged production) waits for an approval: retrying it needs a new approval. Ask again with `deploy cernvm 2.6 lxplus-cloud`.',
    ],
  ])('does not retry a job that needed an approval without a new one', async (job, text) => {
    const jobs = fakeJobs([job]);
    const error = await refusal(
      run(`retry ${job.jobId}`, { jobs: jobs.control, principal: person('bob', ['operator', 'approver']) }),
    );
    expect(error.code).toBe('approval_required');
    expect(error.message).toBe(text);
    expect(jobs.calls.map((c) => c.method)).toEqual(['get']);
  });
});

describe.each(['cancel', 'retry'])('%s of a job that does not exist', (name) => {
  it('answers unknown_job, asking job control once', async () => {
    const jobs = fakeJobs([running]);
    const error = await refusal(run(`${name} abcd2345`, { jobs: jobs.control }));
    expect(error.code).toBe('unknown_job');
    expect(error.message).toBe("no job 'abcd2345': type jobs to see recent jobs.");
    // retry looks the job up first (does it need a new approval?) and answers from that.
    expect(jobs.calls.map((call) => call.method)).toEqual([name === 'retry' ? 'get' : name]);
  });
});
