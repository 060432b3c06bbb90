// The `audit` section: every command, decision and state change, chained by hash.
import { z } from 'zod';
import { duration } from './primitives.ts';

export const auditSchema = z
  .object({
    /** A secret that makes each entry's hash an HMAC, so that only holders of the key can rewrite the chain. */
    key: z.string().min(16, 'must be at least 16 characters').optional(),
    /**
     * A signed checkpoint of the chain (its sequence number and head hash, with an HMAC) posted now and
     * then to the admins' rooms and the log, out of reach of whoever can write to Redis; `audit verify
     * <checkpoint>` checks the chain still holds it.
     */
    checkpoint: z
      .object({
        /** How often (one bot instance posts each; none when the chain did not move). */
        every: duration.default(60 * 60_000),
        /** The HMAC key (use ${ENV}); other than audit.key, so a checkpoint cannot be made from an entry's key. */
        key: z.string().min(16, 'must be at least 16 characters'),
        /** Rooms to post it in (`network` and `room` as the adapters name them); the log always gets it. */
        rooms: z
          .array(z.object({ network: z.string().min(1), room: z.string().min(1) }).strict())
          .default([]),
      })
      .strict()
      .optional(),
  })
  .strict()
  .prefault({});
