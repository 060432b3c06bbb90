// Whether a recorded step process still runs: what a restart's recovery asks before it kills an orphan,
// and what it asks again to know that the orphan is gone.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { processStart, stillRunning } from '../../../src/worker/run-records.ts';
import { stopChild } from '../../helpers/stop-child.ts';

describe('processStart', () => {
  it('gives a running process its start time, and the same one each time', () => {
    const start = processStart(process.pid);
    expect(start).toMatch(/^\d+$/);
    expect(processStart(process.pid)).toBe(start);
    expect(stillRunning({ pid: process.pid, start: start ?? '' })).toBe(true);
    expect(stillRunning({ pid: process.pid, start: `${start}0` })).toBe(false); // another process, same pid
  });

  it('counts a dead process that nobody has reaped yet (a zombie) as gone', async () => {
    // The parent forks a child that exits at once, prints its pid and does not reap it.
    const parent = spawn('python3', [
      '-c',
      'import os, sys, time\npid = os.fork()\nif pid == 0: os._exit(0)\nprint(pid, flush=True)\ntime.sleep(60)',
    ]);
    try {
      const [line] = (await once(createInterface({ input: parent.stdout }), 'line')) as [string];
      const zombie = Number(line);
      // The child has exited when its state reads Z; until then it may still be starting.
      const state = () => readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]?.[0];
      while (state() !== 'Z') await new Promise((resolve) => setImmediate(resolve));
      expect(processStart(zombie)).toBeUndefined();
    } finally {
      await stopChild(parent, { signal: 'SIGKILL' });
    }
  });

  it('says nothing of a pid with no process', () => {
    expect(processStart(2 ** 22 + 1)).toBeUndefined(); // above the kernel's pid limit
  });
});
