// The `redis` section's topologies (url, sentinel, cluster), the hash-tagged prefix on a Cluster, how
// a target is chosen and shown, and the production warnings, without a Redis.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultConfigPath, parseConfig } from '../../../src/app/config-load.ts';
import {
  clusterOptions,
  describeTarget,
  redisTargetOf,
  sentinelOptions,
} from '../../../src/redis/connect.ts';
import { productionWarnings } from '../../../src/redis/production-check.ts';
import { configProblems } from '../../helpers/config-problems.ts';

const defaults = readFileSync(defaultConfigPath, 'utf8');
const withRedis = (section: string) => defaults.replace('redis:\n', `redis:\n${section}`);

const problems = (text: string) => configProblems(text);

describe('redis topologies in config', () => {
  it('reads a Sentinel set-up with host:port and {host, port} sentinels', () => {
    const config = parseConfig(
      withRedis(
        '  sentinel:\n    name: vmops\n    sentinels: ["10.0.0.1:26379", "[::1]:26380", { host: s3, port: 26381 }]\n    password: pw\n    sentinelPassword: spw\n',
      ),
      'my.yaml',
      {},
    );
    expect(config.redis.sentinel).toEqual({
      name: 'vmops',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '::1', port: 26380 },
        { host: 's3', port: 26381 },
      ],
      password: 'pw',
      sentinelPassword: 'spw',
      tls: false,
    });
    expect(config.redis.prefix).toBe('vmops');
    const target = redisTargetOf(config.redis, {});
    expect(describeTarget(target ?? '')).toBe('sentinel vmops@10.0.0.1:26379,::1:26380,s3:26381');
    const options = sentinelOptions(config.redis.sentinel ?? { name: '', sentinels: [] }, { blocking: true });
    expect(options).toMatchObject({
      name: 'vmops',
      password: 'pw',
      sentinelPassword: 'spw',
      maxRetriesPerRequest: null,
    });
  });

  it('reads a Cluster, and makes the default prefix hash-tagged there only', () => {
    const text = withRedis('  cluster: { nodes: ["127.0.0.1:7000", "127.0.0.1:7001"], tls: true }\n').replace(
      '  prefix: vmops\n',
      '',
    );
    const config = parseConfig(text, 'my.yaml', {});
    expect(config.redis.prefix).toBe('{vmops}');
    expect(config.redis.cluster?.nodes).toHaveLength(2);
    expect(clusterOptions(config.redis.cluster ?? { nodes: [] }).redisOptions).toMatchObject({ tls: {} });
    expect(
      parseConfig(defaults.replace('  prefix: vmops\n', '  url: redis://h:1\n'), 'my.yaml', {}).redis.prefix,
    ).toBe('vmops');
    expect(problems(withRedis('  cluster: { nodes: ["127.0.0.1:7000"] }\n'))).toMatch(
      /redis\.prefix: "vmops" has no hash tag: .*write it like \{vmops\}/,
    );
    expect(
      parseConfig(
        withRedis('  cluster: { nodes: ["h:7000"] }\n').replace('prefix: vmops', 'prefix: "{team1}"'),
        'my.yaml',
        {},
      ).redis.prefix,
    ).toBe('{team1}');
  });

  it('takes one topology at a time, and well-formed addresses', () => {
    expect(
      problems(
        withRedis('  url: redis://h:6379\n  cluster: { nodes: ["h:7000"] }\n').replace(
          'prefix: vmops',
          'prefix: "{v}"',
        ),
      ),
    ).toMatch(
      /redis\.cluster: give one of redis\.url, redis\.sentinel and redis\.cluster, not url and cluster/,
    );
    expect(problems(withRedis('  cluster: { nodes: ["no-port"] }\n'))).toMatch(/must be host:port/);
    expect(problems(withRedis('  sentinel: { name: v, sentinels: [] }\n'))).toMatch(
      /redis\.sentinel\.sentinels/,
    );
  });

  it('lets VMOPS_REDIS_URL override any topology, and never shows a password', () => {
    const redis = { cluster: { nodes: [{ host: 'h', port: 7000 }] } };
    expect(redisTargetOf(redis, { VMOPS_REDIS_URL: 'redis://:secret@x:1' })).toBe('redis://:secret@x:1');
    expect(redisTargetOf(redis, {})).toEqual({ cluster: redis.cluster });
    expect(redisTargetOf({}, {})).toBeUndefined();
    expect(describeTarget('redis://:secret@x:1')).toBe('redis://:redacted@x:1');
    expect(describeTarget({ cluster: { nodes: [{ host: 'h', port: 7000 }], password: 'secret' } })).toBe(
      'cluster h:7000',
    );
  });
});

describe('production warnings', () => {
  it('says nothing for noeviction with AOF', () => {
    expect(
      productionWarnings({ evictionPolicy: 'noeviction', appendOnly: true, replicas: 1 }, '', true),
    ).toEqual([]);
  });

  it('names eviction, missing persistence and a primary without replica', () => {
    expect(
      productionWarnings(
        { evictionPolicy: 'allkeys-lru', appendOnly: false, save: '', replicas: 0 },
        '',
        true,
      ),
    ).toEqual([
      expect.stringMatching(/^Redis maxmemory-policy is allkeys-lru: .*set maxmemory-policy noeviction$/),
      expect.stringMatching(/^Redis has no persistence \(appendonly no, no save rules\)/),
      expect.stringMatching(/has no replica attached: Sentinel has nothing to fail over to/),
    ]);
    expect(
      productionWarnings({ evictionPolicy: 'noeviction', appendOnly: false, save: '3600 1' }, 'h:7000'),
    ).toEqual([expect.stringMatching(/^Redis appendonly is off on h:7000: /)]);
  });

  it('says what could not be checked when CONFIG and INFO are refused (managed Redis)', () => {
    expect(productionWarnings({})).toEqual([
      expect.stringMatching(/^could not check the Redis eviction policy \(CONFIG GET and INFO refused\)/),
      expect.stringMatching(/^could not check Redis persistence/),
    ]);
  });
});
