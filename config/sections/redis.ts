// The `redis` section: one URL, a Sentinel-watched primary, or a Cluster; and the key prefix.
import { z } from 'zod';

/** A Redis node: `host:port` (`[::1]:6379` for IPv6) or `{ host, port }`. */
const redisNode = z.union(
  [
    z
      .string()
      .regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'must be host:port, like redis-1.example.org:26379')
      .transform((value) => {
        const at = value.lastIndexOf(':');
        return { host: value.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(value.slice(at + 1)) };
      }),
    z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }).strict(),
  ],
  { error: 'must be host:port, like redis-1.example.org:26379, or { host, port }' },
);

/** A prefix whose keys share one Cluster slot: it has a non-empty hash tag, `{vmops}`. */
const HASH_TAGGED = /^[^{]*\{[^}]+\}/;

export const redisSchema = z
  .object({
    /** redis:// URL. Empty: local mode starts a private redis-server. VMOPS_REDIS_URL overrides. */
    url: z.string().optional(),
    /** A primary with replicas, watched by Redis Sentinel: vmops follows failovers. */
    sentinel: z
      .object({
        /** The primary's name in the sentinels' configuration (`sentinel monitor <name> …`). */
        name: z.string().min(1),
        /** Some or all of the sentinels. */
        sentinels: z.array(redisNode).min(1),
        username: z.string().min(1).optional(),
        /** Password of the primary and replicas (`requirepass` / `masterauth`). */
        password: z.string().optional(),
        /** Password of the sentinels (`requirepass` in sentinel.conf), if they have one. */
        sentinelPassword: z.string().optional(),
        db: z.number().int().min(0).optional(),
        /** TLS to the sentinels and the Redis nodes. */
        tls: z.boolean().default(false),
      })
      .strict()
      .optional(),
    /** A Redis Cluster: some of its nodes (the rest are found from them). */
    cluster: z
      .object({
        nodes: z.array(redisNode).min(1),
        username: z.string().min(1).optional(),
        password: z.string().optional(),
        tls: z.boolean().default(false),
      })
      .strict()
      .optional(),
    /** Prefix of every key vmops writes (BullMQ's too); default vmops, or {vmops} on a Cluster. */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_{}.-]+$/)
      .optional(),
  })
  .strict()
  .superRefine((redis, ctx) => {
    const given = (['url', 'sentinel', 'cluster'] as const).filter((key) => redis[key] !== undefined);
    if (given.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [given[1] ?? 'url'],
        message: `give one of redis.url, redis.sentinel and redis.cluster, not ${given.join(' and ')}`,
      });
    }
    if (redis.cluster && redis.prefix !== undefined && !HASH_TAGGED.test(redis.prefix)) {
      ctx.addIssue({
        code: 'custom',
        path: ['prefix'],
        message: `"${redis.prefix}" has no hash tag: on a Cluster every key of a queue must be in one slot, so write it like {${redis.prefix.replace(/[{}]/g, '')}}`,
      });
    }
  })
  .transform(({ prefix, ...redis }) => ({
    ...redis,
    prefix: prefix ?? (redis.cluster ? '{vmops}' : 'vmops'),
  }))
  .prefault({});
