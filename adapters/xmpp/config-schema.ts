// The `networks.xmpp` section of the configuration: this network's settings, kept next to its adapter.
// A schema only (no policy); config/sections/networks.ts composes it into the configuration.
import { z } from 'zod';
import { duration } from '../../config/sections/primitives.ts';

/** XMPP: one account, multi-user chat rooms and direct messages. */
export const xmppConfigSchema = z
  .object({
    /** The bot's account, a bare JID: vmops@example.org. */
    jid: z.string().regex(/^[^@/\s]+@[^@/\s]+$/, 'must be a bare JID like vmops@example.org (no /resource)'),
    /** Its password; write ${VMOPS_XMPP_PASSWORD} to take it from the environment. */
    password: z.string().min(1, 'is empty (is the environment variable set?)'),
    /** Where to connect: xmpp://host:5222 (STARTTLS when offered), xmpps://host:5223, wss://host/xmpp-websocket. Default xmpp://<JID domain>:5222. */
    service: z
      .string()
      .regex(/^(xmpps?|wss?):\/\/[^\s/]+/, 'must be a URL like xmpp://chat.example.org:5222')
      .optional(),
    /** The XMPP domain, when the service is given by address and the JID's domain is not the host. */
    domain: z.string().min(1).optional(),
    /** Resource to bind (default: the server picks one, so several bot instances can share the account). */
    resource: z.string().min(1).optional(),
    /** Nick in the rooms (default bot.name). */
    nick: z.string().min(1).max(64).optional(),
    /** Multi-user chat rooms to join, as room JIDs: ops@conference.example.org. */
    rooms: z
      .array(z.string().regex(/^[^@/\s]+@[^@/\s]+$/, 'must be a room JID like ops@conference.example.org'))
      .default([]),
    /** Edit status messages in place with XEP-0308 corrections; false: a short new message per change of state. */
    corrections: z.boolean().default(true),
    /** Least time between two corrections of one status message. */
    minEditInterval: duration.default(2000),
    /** How often the bot checks (XEP-0410 self-ping) that it is still in each room. */
    selfPingInterval: duration.default(120_000),
    /** Longest message the bot sends; longer replies are cut with a pointer to `log <job>`. */
    maxMessageLength: z.number().int().min(200).max(200_000).default(10_000),
  })
  .strict();
