// Group commit on a real Redis: appends that wait behind the one in flight go together in one script,
// chained in the order they were asked for; in that script, one that fails or stops before its append
// costs the others nothing (those after it are computed again on the head and appended).
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuditFact, AuditTrail } from '../../src/audit/audit-trail.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import { LuaScript } from '../../src/redis/lua-script.ts';
import { cleanPrefix, redisUrl, testPrefix } from '../helpers/redis.ts';

const opened: { redis: Redis; prefix: string }[] = [];
afterEach(async () => {
  for (const { redis, prefix } of opened.splice(0)) {
    await cleanPrefix(prefix);
    redis.disconnect();
  }
});

/** A trail on its own connection, and how many scripts that connection has sent. */
function trail() {
  const prefix = testPrefix();
  const redis = new Redis(redisUrl());
  opened.push({ redis, prefix });
  const sent = { scripts: 0 };
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    if (/^eval/i.test(command.name)) sent.scripts += 1;
    return (send as (...args: unknown[]) => unknown)(command, ...rest);
  }) as typeof redis.sendCommand;
  const keys = redisKeys(prefix);
  return { redis, keys, sent, audit: new AuditTrail(redis, keys) };
}

const fact = (summary: string): AuditFact => ({ kind: 'command', actor: 'alice', summary });

async function summaries(redis: Redis, key: string): Promise<string[]> {
  const entries = await redis.xrange(key, '-', '+');
  return entries.map(([, fields]) => {
    const body = JSON.parse(fields[fields.indexOf('entry') + 1] as string) as unknown[];
    return String(body.find((v) => typeof v === 'string' && v.startsWith('entry ')));
  });
}

/** A script that fails before it appends. */
const FAILS = new LuaScript("return redis.error_reply('the step broke')", 3);
/** A script that stops before it appends, as a refused queueing does. */
const STOPS = new LuaScript("return {'stopped'}", 3);

describe('audit group commit', () => {
  it('sends the appends waiting behind the one in flight together, chained in the order asked', async () => {
    const { redis, keys, sent, audit } = trail();
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => audit.append(fact(`entry ${i}`))));
    expect(new Set(ids).size).toBe(40);
    // The first alone, the 39 that waited behind it in one script (without grouping: 40 scripts).
    expect(sent.scripts).toBeLessThanOrEqual(3);
    expect(await summaries(redis, keys.audit)).toEqual(Array.from({ length: 40 }, (_, i) => `entry ${i}`));
    expect(await audit.verify()).toEqual({ ok: true, checked: 40 });
  });

  it('fails only the append whose script failed; the ones after it are appended on the head', async () => {
    const { redis, keys, audit } = trail();
    const first = audit.append(fact('entry 0'));
    const results = await Promise.allSettled([
      first,
      audit.append(fact('entry 1')),
      audit.appendIn(fact('entry broken'), (step) => ({
        script: FAILS,
        keys: step.keys,
        args: step.args,
        answer: (result) => ({ appended: result, value: result }),
      })),
      audit.append(fact('entry 2')),
      audit.append(fact('entry 3')),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect(String((results[2] as PromiseRejectedResult).reason)).toContain('the step broke');
    expect(await summaries(redis, keys.audit)).toEqual(['entry 0', 'entry 1', 'entry 2', 'entry 3']);
    expect(await audit.verify()).toEqual({ ok: true, checked: 4 });
  });

  it('fails only the append whose script could not be made', async () => {
    const { redis, keys, audit } = trail();
    const results = await Promise.allSettled([
      audit.append(fact('entry 0')),
      audit.append(fact('entry 1')),
      audit.appendIn(fact('entry unmade'), () => {
        throw new Error('no script for this one');
      }),
      audit.append(fact('entry 2')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(await summaries(redis, keys.audit)).toEqual(['entry 0', 'entry 1', 'entry 2']);
    expect(await audit.verify()).toEqual({ ok: true, checked: 3 });
  });

  it('resolves an append whose script stopped before it with its answer, and appends the rest', async () => {
    const { redis, keys, audit } = trail();
    const results = await Promise.all([
      audit.append(fact('entry 0')),
      audit.appendIn(fact('entry stopped'), (step) => ({
        script: STOPS,
        keys: step.keys,
        args: step.args,
        answer: (result) => ({ value: result }),
      })),
      audit.append(fact('entry 1')),
    ]);
    expect(results[1]).toEqual(['stopped']);
    expect(await summaries(redis, keys.audit)).toEqual(['entry 0', 'entry 1']);
    expect(await audit.verify()).toEqual({ ok: true, checked: 2 });
  });
});
