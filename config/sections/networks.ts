// The `networks` section: which chat networks the bot joins. Each network's own settings are defined
// next to its adapter (adapters/<network>/config-schema.ts); the terminal's are here.
import { z } from 'zod';
import { matrixConfigSchema } from '../../adapters/matrix/config-schema.ts';
import { slackConfigSchema } from '../../adapters/slack/config-schema.ts';
import { xmppConfigSchema } from '../../adapters/xmpp/config-schema.ts';

export const shellConfigSchema = z
  .object({
    /** Shell account the terminal speaks as at start (`/as <name>` switches); default the OS login name. */
    as: z.string().min(1).optional(),
  })
  .strict();

export const networksSchema = z
  .object({
    shell: shellConfigSchema.optional(),
    /** XMPP: one account, multi-user chat rooms and direct messages. */
    xmpp: xmppConfigSchema.optional(),
    /** Slack: mentions, direct messages, the slash command and buttons (adapters/slack/config-schema.ts). */
    slack: slackConfigSchema.optional(),
    /** Matrix: one account, the configured rooms, invites from people in config, and direct chats. */
    matrix: matrixConfigSchema.optional(),
  })
  .strict()
  .prefault({});
