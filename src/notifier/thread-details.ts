// A finished job's details (a failure's log tail, a test report: see job-details.ts) in its status
// message's thread, once per job (a marker in Redis), on networks with threads. A failure here is
// logged: `log` and `report` still have everything.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Outbox } from '../outbox/outbox.ts';
import type { RedisKeys } from '../redis/keys.ts';
import type { ChatAdapter, JobStatusView, MessageRef } from '../types.ts';

/** How long the "details posted" marker lives: longer than any redelivery of a final state. */
const DETAILS_MARK_MS = 7 * 24 * 3600_000;

export async function postThreadDetails(
  parts: {
    details?: ((view: JobStatusView) => Promise<string | undefined>) | undefined;
    redis: Redis;
    keys: RedisKeys;
    outbox: Outbox;
    log: Logger;
  },
  jobId: string,
  view: JobStatusView,
  entry: { ref: MessageRef; adapter: ChatAdapter },
): Promise<void> {
  const { details, redis, keys, log } = parts;
  if (!details || !entry.adapter.limits.threads) return;
  try {
    const text = await details(view);
    if (!text) return;
    if ((await redis.set(keys.detailsPosted(jobId), '1', 'PX', DETAILS_MARK_MS, 'NX')) !== 'OK') return;
    const thread = {
      network: entry.ref.network,
      room: entry.ref.room,
      thread: entry.ref.id,
      isDirect: false,
    };
    await parts.outbox.send(
      thread,
      { text, tone: 'info' },
      {
        priority: 'progress',
        txnId: `vmops.details.${jobId}`,
      },
    );
  } catch (error) {
    log.warn({ err: error, jobId }, "could not post the job's details in its thread");
  }
}
