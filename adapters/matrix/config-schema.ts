// The `networks.matrix` section of the configuration: this network's settings, kept next to its adapter.
// A schema only (no policy); config/sections/networks.ts composes it into the configuration.
import { z } from 'zod';
import { duration } from '../../config/sections/primitives.ts';

/** Matrix: one account, the configured rooms, invites from people in config, and direct chats. */
export const matrixConfigSchema = z
  .object({
    /** Base URL of the homeserver's client-server API, e.g. https://matrix.example.org. */
    homeserver: z.string().regex(/^https?:\/\/[^\s/]+/, 'must be a URL like https://matrix.example.org'),
    /** The bot's user id: @vmops:example.org. */
    userId: z.string().regex(/^@[^:\s]+:\S+$/, 'must be a Matrix user id like @vmops:example.org'),
    /** Access token of the bot's device; write ${VMOPS_MATRIX_TOKEN} to take it from the environment. */
    accessToken: z.string().min(1, 'is empty (is the environment variable set?)').optional(),
    /** Or a password: the bot logs in once and keeps its access token and device id in Redis. */
    password: z.string().min(1, 'is empty (is the environment variable set?)').optional(),
    /** Device id to log in as (with password), so the bot stays one device. */
    deviceId: z.string().min(1).optional(),
    /** Rooms to join at start: room ids (!abc:example.org) or aliases (#ops:example.org). */
    rooms: z
      .array(z.string().regex(/^[!#][^:\s]+:\S+$/, 'must be a room id or alias like #ops:example.org'))
      .default([]),
    /** Invites to these rooms are accepted from anyone; other invites only from people in config. */
    inviteRooms: z
      .array(z.string().regex(/^[!#][^:\s]+:\S+$/, 'must be a room id or alias like #ops:example.org'))
      .default([]),
    /** Least time between two edits of one status message. */
    minEditInterval: duration.default(3000),
    /** The homeserver's message rate limit for the bot (Synapse rc_message; default 0.2/s, burst 10). */
    rateLimit: z
      .object({
        perSecond: z.number().positive().default(0.2),
        burst: z.number().int().min(1).default(10),
      })
      .strict()
      .prefault({}),
    /** Longest message the bot sends (an edit carries the text four times, events are at most 64 KiB). */
    maxMessageLength: z.number().int().min(200).max(12_000).default(8000),
  })
  .strict()
  .refine((m) => m.accessToken !== undefined || m.password !== undefined, 'needs accessToken or password');
