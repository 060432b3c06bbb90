// Builds the chat adapters of the networks configured under `networks` (besides the terminal, which
// run-bot.ts makes itself): `networks.xmpp` → the XMPP adapter, `networks.matrix` → the Matrix adapter
// (which keeps its sync position in Redis, hence the URL), `networks.slack` → the Slack adapter. Each
// still has to be started with the pipeline's handler and stopped on the way out.
// A network's adapter, and so its SDK (matrix-js-sdk alone takes about half a second to load), is
// imported only when that network is configured: local mode loads none of them.
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { RedisTarget } from '../redis/connect.ts';
import type { ChatAdapter } from '../types.ts';

export async function networkAdapters(
  config: Config,
  log: Logger,
  redisUrl: RedisTarget,
): Promise<ChatAdapter[]> {
  const adapters: ChatAdapter[] = [];
  const xmpp = config.networks.xmpp;
  if (xmpp) {
    const { XmppAdapter } = await import('../../adapters/xmpp/adapter.ts');
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
  const matrix = config.networks.matrix;
  if (matrix) {
    const { MatrixAdapter } = await import('../../adapters/matrix/adapter.ts');
    adapters.push(
      new MatrixAdapter({
        homeserverUrl: matrix.homeserver,
        userId: matrix.userId,
        ...(matrix.accessToken ? { accessToken: matrix.accessToken } : {}),
        ...(matrix.password ? { password: matrix.password } : {}),
        ...(matrix.deviceId ? { deviceId: matrix.deviceId } : {}),
        botName: config.bot.name,
        rooms: matrix.rooms,
        // Invites are accepted from people in the config, and into the rooms on the allow-list.
        inviters: Object.values(config.people).flatMap((p) => (p.accounts.matrix ? [p.accounts.matrix] : [])),
        inviteRooms: matrix.inviteRooms,
        minEditIntervalMs: matrix.minEditInterval,
        maxMessageLength: matrix.maxMessageLength,
        rateLimit: matrix.rateLimit,
        redisUrl,
        prefix: config.redis.prefix,
        log: log.child({ adapter: 'matrix' }),
      }),
    );
  }
  const slack = config.networks.slack;
  if (slack) {
    const { SlackAdapter } = await import('../../adapters/slack/adapter.ts');
    adapters.push(
      new SlackAdapter({
        token: slack.token,
        mode: slack.mode,
        ...(slack.appToken ? { appToken: slack.appToken } : {}),
        ...(slack.signingSecret ? { signingSecret: slack.signingSecret } : {}),
        http: slack.http,
        command: slack.command,
        ...(slack.apiUrl ? { apiUrl: slack.apiUrl } : {}),
        minEditIntervalMs: slack.minEditInterval,
        maxMessageLength: slack.maxMessageLength,
        postPace: slack.postRate,
        updatePace: slack.updateRate,
        threadDetails: slack.threadDetails,
        uploadOver: slack.uploadOver,
        log: log.child({ adapter: 'slack' }),
      }),
    );
  }
  return adapters;
}
