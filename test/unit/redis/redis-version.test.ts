import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { bullmqVersionChecked } from '../../../src/redis/redis-version.ts';

/** A connection whose INFO answers `reply` (or is refused). */
const answering = (reply: string | Error) =>
  ({ info: async () => (reply instanceof Error ? Promise.reject(reply) : reply) }) as unknown as Redis;

describe('the Redis version, read once for BullMQ', () => {
  it('lets BullMQ skip its own check on a Redis it accepts', async () => {
    expect(await bullmqVersionChecked(answering('# Server\r\nredis_version:7.0.15\r\n'))).toBe(true);
    expect(await bullmqVersionChecked(answering('redis_version:5.0.0\r\n'))).toBe(true);
  });

  it('leaves the check to BullMQ on a Redis too old, another database, or INFO refused', async () => {
    expect(await bullmqVersionChecked(answering('redis_version:4.0.14\r\n'))).toBe(false);
    expect(await bullmqVersionChecked(answering('redis_version:7.2.4\r\nvalkey_version:8.0.1\r\n'))).toBe(
      false,
    );
    expect(
      await bullmqVersionChecked(answering('redis_version:6.2.0\r\ndragonfly_version:df-v1.0\r\n')),
    ).toBe(false);
    expect(await bullmqVersionChecked(answering('# Server\r\n'))).toBe(false);
    expect(await bullmqVersionChecked(answering(new Error('NOPERM')))).toBe(false);
  });
});
