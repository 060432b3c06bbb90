// runStage picks the executor per step: a step naming a host that is not configured fails before anything runs.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VmopsError } from '../../../src/errors.ts';
import { runStage } from '../../../src/worker/run-stage.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vmops-run-stage-hosts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('runStage with hosts', () => {
  it.each([
    ['no hosts option', undefined],
    ['another host', {}],
  ])('fails a step whose host is missing (%s), runs neither it nor later steps', async (_, hosts) => {
    const log: string[] = [];
    const marker = join(tmp, 'ran');
    const error = await runStage({
      steps: [
        { name: 'local', run: ['true'] },
        { name: 'remote', run: ['touch', marker], host: 'constructor' },
        { name: 'after', run: ['touch', marker] },
      ],
      params: {},
      cwd: tmp,
      repoRoot: tmp,
      defaultTimeoutMs: 5000,
      ...(hosts === undefined ? {} : { hosts }),
      onLog: (line) => log.push(line),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VmopsError);
    expect(error).toMatchObject({
      code: 'step_failed',
      message: 'step 2/3 remote failed: host "constructor" is not one of the hosts (none configured)',
    });
    expect(log.at(-1)).toBe(
      '! step 2/3 remote failed: host "constructor" is not one of the hosts (none configured)',
    );
    expect(existsSync(marker)).toBe(false);
  });
});
