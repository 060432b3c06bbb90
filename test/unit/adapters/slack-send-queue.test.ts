import { describe, expect, it } from 'vitest';
import { SendQueue, SendQueueStopped, type SlackCall } from '../../../adapters/slack/send-queue.ts';

const rateLimited = (seconds: number) =>
  Object.assign(new Error('rate limited'), { code: 'slack_webapi_rate_limited_error', retryAfter: seconds });

/** A Web API stand-in that records calls and answers from a script. */
function recorder(script: (method: string, n: number) => Error | undefined = () => undefined) {
  const calls: { method: string; args: Record<string, unknown>; at: number }[] = [];
  const call: SlackCall = async (method, args) => {
    calls.push({ method, args, at: Date.now() });
    await new Promise((resolve) => setTimeout(resolve, 2));
    const failure = script(method, calls.length);
    if (failure) throw failure;
    return { ok: true, ts: String(calls.length) };
  };
  return { calls, call };
}

const fast = { perSecond: 1000, burst: 100 };

describe('slack send queue', () => {
  it('merges waiting updates of one message into the latest, keeping order in the channel', async () => {
    const { calls, call } = recorder();
    const queue = new SendQueue({ call, postPace: { perSecond: 20, burst: 1 }, updatePace: fast });
    const posted = queue.enqueue('C1', 'chat.postMessage', { text: 'first' });
    const second = queue.enqueue('C1', 'chat.postMessage', { text: 'second' });
    const updates = [1, 2, 3, 4].map((n) =>
      queue.enqueue('C1', 'chat.update', { ts: '1', text: `v${n}` }, 'update:C1:1'),
    );
    await Promise.all([posted, second, ...updates]);
    expect(calls.map((c) => `${c.method}:${String(c.args.text)}`)).toEqual([
      'chat.postMessage:first',
      'chat.postMessage:second',
      'chat.update:v4',
    ]);
    // Posts in one channel are paced (20/s: 50 ms apart).
    expect((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(45);
  });

  it('waits out a 429 Retry-After and sends the latest state, never dropping it', async () => {
    const { calls, call } = recorder((method, n) =>
      method === 'chat.update' && n === 1 ? rateLimited(1) : undefined,
    );
    const limited: number[] = [];
    const limitedByMethod = new Map<string, number>();
    const queue = new SendQueue({
      call,
      postPace: fast,
      updatePace: fast,
      onRateLimited: (method, _channel, ms) => {
        limited.push(ms);
        limitedByMethod.set(method, (limitedByMethod.get(method) ?? 0) + 1);
      },
    });
    const first = queue.enqueue('C1', 'chat.update', { text: 'v1' }, 'k');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const later = queue.enqueue('C1', 'chat.update', { text: 'v2' }, 'k');
    await Promise.all([first, later]);
    expect(limited).toEqual([1000]);
    expect(calls.map((c) => c.args.text)).toEqual(['v1', 'v2']);
    expect((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(995);
    expect(limitedByMethod.get('chat.update')).toBe(1);
  });

  it('retries transient failures a few times and gives up on permanent ones at once', async () => {
    const transient = Object.assign(new Error('socket hang up'), { code: 'slack_webapi_request_error' });
    const permanent = Object.assign(new Error('channel_not_found'), {
      code: 'slack_webapi_platform_error',
      data: { error: 'channel_not_found' },
    });
    const { calls, call } = recorder((method, n) =>
      method === 'chat.postMessage' && n <= 2 ? transient : method === 'chat.update' ? permanent : undefined,
    );
    const queue = new SendQueue({ call, postPace: fast, updatePace: fast, retryBaseMs: 5 });
    await expect(queue.enqueue('C1', 'chat.postMessage', { text: 'x' })).resolves.toMatchObject({ ok: true });
    expect(calls).toHaveLength(3);
    await expect(queue.enqueue('C1', 'chat.update', { text: 'y' })).rejects.toBe(permanent);
    expect(calls).toHaveLength(4);
  });

  it('lets waiting calls go out on stop, within the time given, then rejects the rest', async () => {
    const { call } = recorder();
    const queue = new SendQueue({ call, postPace: { perSecond: 1, burst: 1 }, updatePace: fast });
    const sent = queue.enqueue('C1', 'chat.postMessage', { text: 'a' });
    const stuck = queue.enqueue('C1', 'chat.postMessage', { text: 'b' });
    await queue.stop(100);
    await expect(sent).resolves.toMatchObject({ ok: true });
    await expect(stuck).rejects.toBeInstanceOf(SendQueueStopped);
    await expect(queue.enqueue('C1', 'chat.postMessage', { text: 'c' })).rejects.toBeInstanceOf(
      SendQueueStopped,
    );
  });
});
