// The `web` section: the web console (src/web/).
import { z } from 'zod';
import { duration } from './primitives.ts';

export const webSchema = z
  .object({
    /** Serve the console from the bot process (local and bot mode). */
    enabled: z.boolean().default(true),
    /** Address to listen on; put a TLS proxy in front before listening beyond loopback. */
    host: z.string().min(1).default('127.0.0.1'),
    /** Port to listen on; 0 picks any free port. In local mode a busy port falls back to a free one. */
    port: z.number().int().min(0).max(65535).default(8080),
    /** The console's address as people reach it (https://vmops.example.org); login links and status messages use it. */
    publicUrl: z
      .string()
      .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'must be a URL like https://vmops.example.org')
      .transform((url) => url.replace(/\/+$/, ''))
      .optional(),
    /** How long a signed-in session lasts. */
    sessionTtl: duration.default(12 * 3600_000),
    /** How long a login link from `login` stays valid (it works once). */
    loginTtl: duration.default(10 * 60_000),
    /** Who may fetch the download area (<dataDir>/downloads): anyone, or signed-in people only. */
    downloads: z.enum(['public', 'signed-in']).default('public'),
    /** A bearer token /metrics requires (`Authorization: Bearer …`); unset, /metrics is open like /healthz. */
    metricsToken: z.string().min(16, 'must be at least 16 characters').optional(),
  })
  .strict()
  .prefault({});
