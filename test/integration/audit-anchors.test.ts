// The audit trail's anchors through chat, as the issue found it: an admin's `audit verify` names the
// newest entries removed with the head set back, and checks a signed checkpoint posted to the admins'
// room; a checkpoint that was tampered with is refused.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/redis/keys.ts';
import { type Engine, startEngine, testConfig } from '../helpers/engine.ts';
import { message } from '../helpers/fake-chat.ts';
import { redisUrl } from '../helpers/redis.ts';

let engine: Engine | undefined;
const clients: Redis[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await engine?.stop();
  engine = undefined;
});

async function say(text: string, account = 'root'): Promise<string> {
  if (!engine) throw new Error('no engine');
  const before = engine.chat.sent.length;
  await engine.core.handle(message(text, { account, mentioned: true }));
  return engine.chat.sent
    .slice(before)
    .filter((m) => m.target.room === 'room1')
    .map((m) => m.versions.at(-1)?.text ?? '')
    .join('\n');
}

describe('audit anchors in chat', () => {
  it('names the removed newest entries, and checks a posted checkpoint', async () => {
    engine = await startEngine({
      worker: false,
      config: testConfig((config) => {
        config.audit.checkpoint = {
          every: 3_600_000,
          key: 'a checkpoint key of some length',
          rooms: [{ network: 'fake', room: 'admins' }],
        };
      }),
    });
    for (let i = 0; i < 12; i++) await say(`whoami`, 'alice');
    expect(await say('audit verify')).toMatch(
      /^The audit chain is intact: 12 entries, each matching its hash and the one before\. Compared with 12 anchors in 1 journal on this host: all held\.$/,
    );
    // A checkpoint goes to the admins' room.
    await engine.core.checkpoints?.tick();
    const posted = engine.chat.sent.find((m) => m.target.room === 'admins')?.versions.at(-1)?.text ?? '';
    const token = /audit verify (vmops-cp1\.\S+)`/.exec(posted)?.[1] ?? '';
    expect(posted).toMatch(/^Audit checkpoint: the trail has 13 entries/);
    expect(await say(`audit verify ${token}`)).toMatch(
      /^The audit chain is intact: \d+ entries.* and 1 signed checkpoint: all held\.$/,
    );
    const forged = token.replace(/\.(\d+)\./, (_m, seq: string) => `.${Number(seq) + 1}.`);
    expect(await say(`audit verify ${forged}`)).toBe(
      "that checkpoint is not signed with this vmops's key: it was changed or comes from elsewhere",
    );

    // Someone with Redis access removes the 10 newest entries and sets the head back.
    const redis = new Redis(redisUrl());
    clients.push(redis);
    const keys = redisKeys(engine.config.redis.prefix);
    const newest = await redis.xrevrange(keys.audit, '+', '-', 'COUNT', 11);
    for (const [id] of newest.slice(0, 10)) await redis.xdel(keys.audit, id);
    const kept = newest[10]?.[1] ?? [];
    // (Entries keep their hash in base64url, the head in hex.)
    const keptHash = Buffer.from(kept[kept.indexOf('hash') + 1] ?? '', 'base64url').toString('hex');
    await redis.set(keys.auditHead, keptHash);
    await redis.set(keys.auditSeq, kept[kept.indexOf('seq') + 1] ?? '');
    const verdict = await say(`audit verify ${token}`);
    expect(verdict).toMatch(
      /^The audit chain is BROKEN at entry \S+: the chain ends at entry #\d+, but the journal journal-bot-test-0\.jsonl vouches for entries up to #\d+ \(appended \S+\): the 1\d newest entries were removed and the head set back\./,
    );
  });
});
