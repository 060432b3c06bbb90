// The `networks.slack` section of the configuration: this network's settings, kept next to its adapter.
// A schema only (no policy); config/sections/networks.ts composes it into the configuration.
import { z } from 'zod';
import { duration } from '../../config/sections/primitives.ts';

/**
 * Slack: mentions, direct messages, the slash command and buttons, over Socket Mode (default, no public
 * URL) or the Events API over HTTP. Accounts under people.<name>.accounts.slack are Slack user ids:
 * `U0123ABCD` for members of the bot's workspace, `T0OTHER:U0456EFGH` for members of another
 * workspace in a shared channel.
 */
export const slackConfigSchema = z
  .object({
    /** Bot token (xoxb-…); write ${VMOPS_SLACK_BOT_TOKEN} to take it from the environment. */
    token: z.string().min(1, 'is empty (is the environment variable set?)'),
    /** `socket`: Socket Mode, needs appToken; `http`: Slack posts to the bot's URL, needs signingSecret. */
    mode: z.enum(['socket', 'http']).default('socket'),
    /** App-level token (xapp-…) with the connections:write scope, for Socket Mode. */
    appToken: z.string().min(1, 'is empty (is the environment variable set?)').optional(),
    /** The app's signing secret, for HTTP mode: every request's signature is checked with it. */
    signingSecret: z.string().min(1, 'is empty (is the environment variable set?)').optional(),
    /** HTTP mode: where to listen for events, slash commands and interactivity (one path for all). */
    http: z
      .object({
        port: z.number().int().min(1).max(65535).default(3000),
        host: z.string().min(1).default('0.0.0.0'),
        path: z
          .string()
          .regex(/^\/\S*$/, 'must be a path like /slack/events')
          .default('/slack/events'),
      })
      .strict()
      .prefault({}),
    /** The slash command as created in the app. */
    command: z
      .string()
      .regex(/^\/[a-z0-9_-]{1,31}$/, 'must be a slash command like /vmops')
      .default('/vmops'),
    /** Web API base URL (a proxy, or a local stand-in in tests). */
    apiUrl: z
      .string()
      .regex(/^https?:\/\/\S+\/$/, 'must be a URL ending in /')
      .optional(),
    /** Least time between two updates of one status message. */
    minEditInterval: duration.default(1000),
    /** chat.postMessage per channel (Slack allows about one a second, with short bursts). */
    postRate: z
      .object({
        perSecond: z.number().positive().default(1),
        burst: z.number().int().min(1).default(1),
      })
      .strict()
      .prefault({}),
    /** chat.update for the whole workspace (Tier 3: 50+ a minute). */
    updateRate: z
      .object({
        perSecond: z
          .number()
          .positive()
          .default(50 / 60),
        burst: z.number().int().min(1).default(3),
      })
      .strict()
      .prefault({}),
    /** A finished job's details (a failure's log tail, a test report) go in its status message's thread. */
    threadDetails: z.boolean().default(true),
    /** Replies longer than this many characters are posted short, with the whole text as a file; 0: never. */
    uploadOver: z.number().int().min(0).default(3500),
    /** Longest message text the bot sends (Slack cuts text after 40,000 characters). */
    maxMessageLength: z.number().int().min(200).max(40_000).default(40_000),
  })
  .strict()
  .refine((s) => s.mode !== 'socket' || s.appToken !== undefined, {
    message: 'Socket Mode needs appToken (an xapp-… token with connections:write)',
    path: ['appToken'],
  })
  .refine((s) => s.mode !== 'http' || s.signingSecret !== undefined, {
    message: 'HTTP mode needs signingSecret',
    path: ['signingSecret'],
  });
