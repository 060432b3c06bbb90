// `report <job>`: the full test report of a test job (not available yet).
import type { CommandSpec } from '../src/command-spec.ts';
import { notAvailable } from './support/not-available.ts';

export const command: CommandSpec = {
  name: 'report',
  summary: 'show the full test report of a test job',
  description: 'Lists every test of the job with passed, failed or skipped, and the output of the failures.',
  examples: ['report k3x9q2ab-kvm'],
  access: 'known',
  args: [{ name: 'job', kind: 'job' }],
  async run() {
    return notAvailable('report');
  },
};
