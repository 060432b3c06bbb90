// The `bot` section: its name, where local state lives, and what input it accepts.
import { z } from 'zod';
import { duration, name } from './primitives.ts';

export const botSchema = z
  .object({
    /** The name people address the bot by: `vmops: …`, `@vmops …`. */
    name: name.default('vmops'),
    /** Where local state lives (private Redis data, job work directories). VMOPS_DATA_DIR overrides. */
    dataDir: z.string().default('./var'),
    /** Messages older than this when they arrive are ignored (history replays). */
    maxMessageAge: duration.default(120_000),
    /** Longest command accepted, in characters. */
    maxCommandLength: z.number().int().min(16).max(100_000).default(2000),
    /**
     * Most messages one outbox lane (a room, or what the platform counts together) holds while its
     * network is away or its budget spent; beyond it the oldest progress is dropped, logged and counted.
     */
    outboxPerLane: z.number().int().min(10).max(1_000_000).default(1000),
    /** How many commands one person (or guest account) may give per window; more are dropped with one reply. */
    throttle: z
      .object({
        commands: z.number().int().min(1).default(30),
        per: duration.default(60_000),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});
