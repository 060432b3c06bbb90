// The Slack Web API as the adapter uses it: one client whose calls never retry or wait inside the SDK
// (the core's outbox does that), each failure turned into a SendFailure (send-errors.ts), auth.test at
// start, and Bolt's logger interface over pino.
import { type Logger as BoltLogger, LogLevel, type webApi } from '@slack/bolt';
import pRetry, { AbortError } from 'p-retry';
import type { Logger } from 'pino';
import { VmopsError } from '../../src/errors.ts';
import { asSendFailure, isTransient } from './send-errors.ts';

export type WebClient = InstanceType<typeof webApi.WebClient>;

export /** Bolt's logger interface over pino. Bolt's debug output goes to debug; nothing of it carries tokens. */
function boltLogger(log: Logger): BoltLogger {
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : String(m))).join(' ');
  return {
    debug: (...msg) => log.debug(text(msg)),
    info: (...msg) => log.debug(text(msg)),
    warn: (...msg) => log.warn(text(msg)),
    error: (...msg) => log.error(text(msg)),
    setLevel: () => undefined,
    getLevel: () => (log.isLevelEnabled('debug') ? LogLevel.DEBUG : LogLevel.INFO),
    setName: () => undefined,
  };
}

/** Web API calls never retry or wait inside the SDK: the core's outbox does that. */
export function webClientOptions(o: {
  apiUrl?: string;
  requestTimeoutMs?: number;
  log: Logger;
}): webApi.WebClientOptions {
  return {
    ...(o.apiUrl ? { slackApiUrl: o.apiUrl } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: o.requestTimeoutMs ?? 15_000,
    logger: boltLogger(o.log.child({ part: 'web-api' })),
  };
}

/** auth.test: who the bot is. A token Slack refuses stops start-up with a config error. */
export async function authTest(
  client: WebClient,
  stopped: () => boolean,
): Promise<{ user_id: string; bot_id: string | undefined; team_id: string }> {
  // Five attempts, 0.5, 1, 2 and 4 s apart; no more once stopped.
  return pRetry(
    async () => {
      try {
        const auth = await client.auth.test();
        if (!auth.user_id || !auth.team_id) throw new Error('auth.test answered without user_id or team_id');
        return { user_id: auth.user_id, bot_id: auth.bot_id, team_id: auth.team_id };
      } catch (error) {
        const code = (error as { data?: { error?: string } }).data?.error;
        if (code && !isTransient(error)) {
          throw new AbortError(
            new VmopsError(
              'config_invalid',
              `Slack refused the bot token (${code}): check networks.slack.token (an xoxb-… bot token)`,
            ),
          );
        }
        throw error;
      }
    },
    { retries: 4, minTimeout: 500, factor: 2, randomize: false, shouldRetry: () => !stopped() },
  );
}

/** One Web API call; its failure becomes a SendFailure (retryable or not, with Slack's Retry-After). */
export async function callWebApi(
  client: WebClient,
  method: string,
  args: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  try {
    if (method === 'files.uploadV2') {
      return (await client.files.uploadV2(args as never)) as unknown as Record<string, unknown>;
    }
    return (await client.apiCall(method, args)) as unknown as Record<string, unknown>;
  } catch (error) {
    throw asSendFailure(method, error);
  }
}
