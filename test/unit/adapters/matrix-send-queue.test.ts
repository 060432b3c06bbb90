// The matrix send queue with a fake homeserver function: pacing by the leaky bucket, 429s waited out
// with the same txnId, waiting edits merged, other failures retried or reported, stop.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { SendQueue, SendQueueStopped } from '../../../adapters/matrix/send-queue.ts';

const log = pino({ level: 'silent' });

interface Put {
  room: string;
  txnId: string;
  content: Record<string, unknown>;
  at: number;
}

function limited(status: number, errcode: string, retryAfterMs?: number) {
  return Object.assign(new Error(errcode), {
    errcode,
    httpStatus: status,
    getRetryAfterMs: () => retryAfterMs ?? null,
    isRateLimitError: () => errcode === 'M_LIMIT_EXCEEDED',
  });
}

describe('matrix send queue', () => {
  it('sends a burst at once, then at the sustained rate', async () => {
    const puts: Put[] = [];
    const queue = new SendQueue({
      perSecond: 20,
      burst: 3,
      log,
      put: async (room, _type, txnId, content) => {
        puts.push({ room, txnId, content, at: Date.now() });
        return `$${puts.length}`;
      },
    });
    const start = Date.now();
    const ids = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) => queue.enqueue('!r', 'm.room.message', { n })),
    );
    expect(ids).toEqual(['$1', '$2', '$3', '$4', '$5', '$6']);
    expect(puts.map((p) => p.content.n)).toEqual([1, 2, 3, 4, 5, 6]);
    // Three at once, then one each 50 ms.
    expect((puts[2]?.at ?? 0) - start).toBeLessThan(40);
    expect((puts[5]?.at ?? 0) - start).toBeGreaterThanOrEqual(140);
    await queue.stop(0);
  });

  it('waits out a 429 and sends the same event again with the same txnId', async () => {
    const puts: Put[] = [];
    let refuse = 1;
    const queue = new SendQueue({
      perSecond: 1000,
      burst: 1000,
      log,
      put: async (room, _type, txnId, content) => {
        puts.push({ room, txnId, content, at: Date.now() });
        if (refuse-- > 0) throw limited(429, 'M_LIMIT_EXCEEDED', 120);
        return '$ok';
      },
    });
    const start = Date.now();
    expect(await queue.enqueue('!r', 'm.room.message', { a: 1 })).toBe('$ok');
    expect(puts).toHaveLength(2);
    expect(puts[1]?.txnId).toBe(puts[0]?.txnId);
    expect((puts[1]?.at ?? 0) - start).toBeGreaterThanOrEqual(115);
    expect(queue.rateLimited).toBe(1);
    await queue.stop(0);
  });

  it('merges waiting edits of one message into the latest', async () => {
    const puts: Put[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const queue = new SendQueue({
      perSecond: 1000,
      burst: 1000,
      log,
      put: async (room, _type, txnId, content) => {
        if (puts.length === 0) await gate;
        puts.push({ room, txnId, content, at: Date.now() });
        return `$${puts.length}`;
      },
    });
    const first = queue.enqueue('!r', 'm.room.message', { v: 'post' });
    const edits = [1, 2, 3].map((v) => queue.enqueue('!r', 'm.room.message', { v }, 'edit:$1'));
    release();
    await first;
    expect(await Promise.all(edits)).toEqual(['$2', '$2', '$2']);
    expect(puts.map((p) => p.content.v)).toEqual(['post', 3]);
    await queue.stop(0);
  });

  it('retries a server error, gives up on a refusal, and fails what waits when stopped', async () => {
    let calls = 0;
    const queue = new SendQueue({
      perSecond: 1000,
      burst: 1000,
      log,
      retryBaseMs: 5,
      put: async (room) => {
        calls += 1;
        if (room === '!forbidden') throw limited(403, 'M_FORBIDDEN');
        if (room === '!flaky' && calls < 3) throw limited(502, 'M_UNKNOWN');
        if (room === '!slow') await new Promise((r) => setTimeout(r, 200));
        return '$ok';
      },
    });
    expect(await queue.enqueue('!flaky', 'm.room.message', {})).toBe('$ok');
    expect(calls).toBe(3);
    await expect(queue.enqueue('!forbidden', 'm.room.message', {})).rejects.toMatchObject({
      errcode: 'M_FORBIDDEN',
    });
    const slow = queue.enqueue('!slow', 'm.room.message', {});
    const waiting = queue.enqueue('!r', 'm.room.message', {});
    await queue.stop(0);
    await expect(waiting).rejects.toBeInstanceOf(SendQueueStopped);
    await slow.catch(() => undefined);
    await expect(queue.enqueue('!r', 'm.room.message', {})).rejects.toBeInstanceOf(SendQueueStopped);
  });
});
