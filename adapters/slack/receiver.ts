// How Slack's events reach the bot: a Socket Mode receiver (an outbound WebSocket; its own client for
// apps.connections.open may retry while Slack is unreachable, and is answered at once after stop) or
// an HTTP receiver that checks every request's signature; and the App as the receiver sees it, whose
// acknowledgement waits until the listeners have handed the message over.
import {
  type App,
  type Logger as BoltLogger,
  HTTPReceiver,
  type ReceiverEvent,
  SocketModeReceiver,
} from '@slack/bolt';
import type { Logger } from 'pino';
import type { SlackAdapterOptions } from './options.ts';

/** A Socket Mode receiver; `up` is told when the socket opens (true) or closes (false). */
export function socketReceiver(
  o: SlackAdapterOptions,
  logger: BoltLogger,
  hooks: { stopped(): boolean; up(open: boolean): void; log: Logger },
): SocketModeReceiver {
  // apps.connections.open goes through its own client: it may retry (bounded, with backoff) while
  // Slack is unreachable, and after stop() it is answered at once so no retry outlives the adapter.
  const socket = new SocketModeReceiver({
    appToken: o.appToken ?? '',
    logger,
    clientPingTimeout: o.clientPingTimeoutMs ?? 5000,
    serverPingTimeout: o.serverPingTimeoutMs ?? 30_000,
    installerOptions: {
      clientOptions: {
        ...(o.apiUrl ? { slackApiUrl: o.apiUrl } : {}),
        retryConfig: { retries: 20, factor: 1.5, minTimeout: 500, maxTimeout: 15_000, randomize: true },
        timeout: o.requestTimeoutMs ?? 15_000,
        fetch: (url: string | URL | Request, init?: RequestInit) =>
          hooks.stopped()
            ? Promise.resolve(Response.json({ ok: false, error: 'vmops_stopped' }))
            : fetch(url, init),
      },
    },
  });
  socket.client.on('connected', () => {
    hooks.log.info('slack socket mode connected');
    hooks.up(true);
  });
  socket.client.on('close', () => {
    hooks.up(false);
    if (hooks.stopped()) return;
    hooks.log.info('slack socket mode connection closed; reconnecting');
  });
  return socket;
}

/** An HTTP receiver for the Events API, slash commands and interactivity, on one path. */
export function httpReceiver(o: SlackAdapterOptions, logger: BoltLogger): HTTPReceiver {
  const http = o.http ?? { port: 3000, host: '0.0.0.0', path: '/slack/events' };
  return new HTTPReceiver({
    signingSecret: o.signingSecret ?? '',
    endpoints: [http.path],
    logger,
  });
}

/**
 * The App as the receiver sees it: its acknowledgement is held while the listeners run and sent
 * after them (with what a listener acknowledged with), unless handing the message over failed
 * (`failed` holds the bodies of those). Each event in flight is in `handingOver` until acknowledged.
 */
export function ackAfterHandOver(app: App, failed: WeakSet<object>, handingOver: Set<Promise<void>>): App {
  const processEvent = async (event: ReceiverEvent): Promise<void> => {
    let response: Parameters<ReceiverEvent['ack']>[0];
    const handing = app
      .processEvent({
        ...event,
        ack: async (answer) => {
          response = answer;
        },
      })
      .then(async () => {
        if (failed.has(event.body)) return;
        await event.ack(response);
      });
    const tracked = handing.finally(() => handingOver.delete(tracked));
    handingOver.add(tracked);
    await tracked;
  };
  return Object.assign(Object.create(app) as App, { processEvent });
}
