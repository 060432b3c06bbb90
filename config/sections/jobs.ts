// The `jobs` section: timeouts, attempts and how many jobs are kept and run at once.
import { z } from 'zod';
import { duration } from './primitives.ts';

export const jobsSchema = z
  .object({
    /** Timeout of a step that sets none. */
    stepTimeout: duration.default(30 * 60_000),
    /** How many attempts a stage job gets when the worker dies under it. */
    attempts: z.number().int().min(1).max(10).default(1),
    /** How many finished jobs Redis keeps for `jobs`, `status` and `log`. */
    keepFinished: z.number().int().min(10).default(1000),
    /** How long Redis keeps a finished job at most (BullMQ's removeOnComplete/removeOnFail age); unset, only keepFinished bounds them. */
    keepFinishedFor: duration.optional(),
    /** Jobs one worker process runs at once. */
    concurrency: z.number().int().min(1).max(64).default(2),
    /** Guests the recipes may boot at once on the worker's host, across its jobs and workers (VMOPS_BOOT_SLOTS); unset: 1 under TCG, the CPU count with a working KVM. */
    bootSlots: z.number().int().min(1).max(64).optional(),
    /** Refuse a stage at once when no live worker can take it (instead of queueing it for later). */
    refuseWithoutWorker: z.boolean().default(true),
    /** A worker silent this long (killed, hung, cut off from Redis) loses its running jobs: they run again while attempts allow, else fail. */
    workerTimeout: duration.default(30_000),
  })
  .strict()
  .prefault({});
