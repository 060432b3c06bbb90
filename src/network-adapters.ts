// Builds the chat adapters of the networks configured under `networks` (besides the terminal, which
// main.ts makes itself): `networks.xmpp` → the XMPP adapter. Each still has to be started with the
// pipeline's handler and stopped on the way out.
import type { Logger } from 'pino';
import { XmppAdapter } from '../adapters/xmpp/adapter.ts';
import type { Config } from '../config/schema.ts';
import type { ChatAdapter } from './types.ts';

export function networkAdapters(config: Config, log: Logger): ChatAdapter[] {
  const adapters: ChatAdapter[] = [];
  const xmpp = config.networks.xmpp;
  if (xmpp) {
    const domain = xmpp.jid.split('@')[1] ?? '';
    adapters.push(
      new XmppAdapter({
        jid: xmpp.jid,
        password: xmpp.password,
        service: xmpp.service ?? `xmpp://${domain}:5222`,
        ...(xmpp.domain ? { domain: xmpp.domain } : {}),
        ...(xmpp.resource ? { resource: xmpp.resource } : {}),
        nick: xmpp.nick ?? config.bot.name,
        botName: config.bot.name,
        rooms: xmpp.rooms,
        corrections: xmpp.corrections,
        minEditIntervalMs: xmpp.minEditInterval,
        maxMessageLength: xmpp.maxMessageLength,
        selfPingIntervalMs: xmpp.selfPingInterval,
        log: log.child({ adapter: 'xmpp' }),
      }),
    );
  }
  return adapters;
}
