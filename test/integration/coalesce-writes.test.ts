// A vmops Redis connection sends the commands written in one turn of the event loop in one socket
// write, each still its own command with its own answer, in order, on the real server; and keeps doing
// so on the socket it reconnects with after the server dropped it.
import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/redis/connect.ts';
import { cleanPrefix, redisUrl, testPrefix } from '../helpers/redis.ts';

const prefix = testPrefix();
let redis: Redis | undefined;
afterEach(async () => {
  redis?.disconnect();
  redis = undefined;
  await cleanPrefix(prefix);
});

/** Counts the socket's system-call level writes (one `_writev` for a corked batch, `_write` for one). */
function countWrites(socket: Socket): { writes: number } {
  const counted = { writes: 0 };
  const internals = socket as unknown as {
    _write: (...args: unknown[]) => void;
    _writev: (...args: unknown[]) => void;
  };
  for (const name of ['_write', '_writev'] as const) {
    const original = internals[name];
    internals[name] = function (this: unknown, ...args: unknown[]) {
      counted.writes += 1;
      return original.apply(this, args);
    };
  }
  return counted;
}

const socketOf = (r: Redis) => (r as unknown as { stream: Socket }).stream;

describe('a vmops Redis connection', () => {
  it('sends 200 commands written side by side in one write, and answers each, in order', async () => {
    redis = connectRedis(redisUrl());
    await redis.ping();
    const counted = countWrites(socketOf(redis));
    const r = redis;
    const key = `${prefix}:counter`;
    const answers = await Promise.all(Array.from({ length: 200 }, () => r.incr(key)));
    expect(answers).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(counted.writes).toBe(1);
    // One at a time, each command is a write of its own: nothing waits for company.
    const before = counted.writes;
    for (let i = 0; i < 5; i++) await r.incr(key);
    expect(counted.writes - before).toBe(5);
    expect(await r.get(key)).toBe('205');
  });

  it('coalesces on the socket it reconnects with after the server dropped it', async () => {
    redis = connectRedis(redisUrl());
    await redis.ping();
    const r = redis;
    const first = socketOf(r);
    const reconnected = new Promise<void>((resolve) => r.once('ready', () => resolve()));
    const admin = connectRedis(redisUrl());
    try {
      const id = await r.client('ID');
      await admin.client('KILL', 'ID', String(id));
    } finally {
      admin.disconnect();
    }
    await reconnected;
    const second = socketOf(r);
    expect(second).not.toBe(first);
    const counted = countWrites(second);
    const key = `${prefix}:after`;
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => r.rpush(key, String(i))));
    expect(answers).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(counted.writes).toBe(1);
    expect(await r.lrange(key, 0, -1)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
  });
});
