// The reply to a job id that names no job, in a module of its own: commands use it, and importing it
// must not load the queue (BullMQ, some 170 modules) into a process that only checks a config.
import { VmopsError } from '../errors.ts';
import { echo } from '../grammar/echo.ts';

/** The reply to a job id that names no job. */
export function unknownJob(id: string): VmopsError {
  return new VmopsError('unknown_job', `no job ${echo(id)}: type jobs to see recent jobs.`);
}
