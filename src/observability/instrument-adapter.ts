// Wraps a chat adapter for metrics, at the bot core: every send and edit is timed
// (vmops_chat_send_seconds) and its failures counted, and rate-limit waits are added up
// (vmops_chat_rate_limit_wait_seconds_total) from errors that carry `retryAfterMs` (which the outbox
// then waits out) and from what an adapter itself reports through `watchRateLimits`. The adapters stay
// free of policy and metrics.
import type { ChatAdapter } from '../types.ts';
import type { MetricsSink } from './metrics-sink.ts';

export function instrumentAdapter(adapter: ChatAdapter, metrics: MetricsSink): ChatAdapter {
  const network = adapter.network;
  adapter.watchRateLimits?.((waitMs) => {
    if (waitMs > 0) metrics.rateLimitWait.inc({ network }, waitMs / 1000);
  });
  const timed = async <T>(op: 'send' | 'edit', run: () => Promise<T>): Promise<T> => {
    const end = metrics.chatSend.startTimer({ network, op });
    try {
      return await run();
    } catch (error) {
      metrics.chatErrors.inc({ network, op });
      const retryAfter = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
      if (typeof retryAfter === 'number' && retryAfter > 0) {
        metrics.rateLimitWait.inc({ network }, retryAfter / 1000);
      }
      throw error;
    } finally {
      end();
    }
  };
  return {
    get network() {
      return adapter.network;
    },
    get limits() {
      return adapter.limits;
    },
    start: (onMessage) => adapter.start(onMessage),
    stop: () => adapter.stop(),
    send: (target, reply, options) => timed('send', () => adapter.send(target, reply, options)),
    edit: (ref, reply, options) => timed('edit', () => adapter.edit(ref, reply, options)),
    directTarget: (account) => adapter.directTarget(account),
    connected: () => adapter.connected?.() ?? true,
    ...(adapter.whenSendable
      ? { whenSendable: (room: string) => adapter.whenSendable?.(room) ?? Promise.resolve() }
      : {}),
  };
}
