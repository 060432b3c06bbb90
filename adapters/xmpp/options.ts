// What the XMPP adapter is given: the account, where to connect, the rooms, and its limits (from
// config `networks.xmpp`, see network-adapters.ts).
import type { Logger } from 'pino';
import type { Backoff } from './backoff.ts';

export interface XmppAdapterOptions {
  /** The bot's bare JID (`vmops@example.org`). */
  jid: string;
  password: string;
  /** Where to connect: `xmpp://host:5222` (STARTTLS whenever offered), `xmpps://host:5223`, `wss://…`. */
  service: string;
  /** The XMPP domain, when it differs from the JID's. */
  domain?: string;
  /** Resource to bind; default: the server picks one. */
  resource?: string;
  /** Nick in every room. */
  nick: string;
  /** The name the pipeline answers to (`config.bot.name`), to tell an addressed message. */
  botName: string;
  /** Room JIDs to join. */
  rooms: readonly string[];
  /** Edit status messages in place with XEP-0308 corrections. */
  corrections: boolean;
  minEditIntervalMs: number;
  maxMessageLength: number;
  /** How often each joined room is self-pinged (ms). */
  selfPingIntervalMs: number;
  log: Logger;
  /** Wait before reconnecting and rejoining (default 1 s doubling up to 60 s). */
  backoff?: Backoff;
  /** A join without an answer within this long is tried again (ms; default 20 s). */
  joinTimeoutMs?: number;
  /**
   * How long a room that refused a message as too busy (it gives no time) is left before the next try
   * (ms; default 2 s, one message's worth at mod_muc_limits' default rate).
   */
  roomBusyWaitMs?: number;
  now?: () => number;
}
