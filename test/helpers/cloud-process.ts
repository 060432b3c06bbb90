// A server process a cloud test starts (Glance, moto_server): its output kept for failure messages,
// and a stop that waits for the exit.

import type { ChildProcess } from 'node:child_process';
import { stopChild } from './stop-child.ts';

export interface ServerProcess {
  /** What the process printed so far (the last 20,000 characters). */
  log(): string;
  /** Whether it has exited. */
  exited(): boolean;
  /** SIGTERM (SIGKILL after 5 s) and wait for the exit. */
  stop(): Promise<void>;
}

export function watchProcess(child: ChildProcess): ServerProcess {
  let output = '';
  let done = false;
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      done = true;
      resolve();
    }),
  );
  return {
    log: () => output,
    exited: () => done,
    async stop() {
      await stopChild(child);
      await exit;
    },
  };
}
