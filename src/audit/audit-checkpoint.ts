// Signed checkpoints of the audit trail: now and then, the chain's sequence number and head hash with
// an HMAC under `audit.checkpoint.key`, posted to the admins' rooms and the log. They live where
// someone with write access to Redis cannot reach (chat history, the log), so a chain later cut back or
// rewritten no longer matches them: `audit verify <checkpoint>` says so. The HMAC makes a checkpoint
// that is pasted back unforgeable without the key.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { VmopsError } from '../errors.ts';
import type { RedisKeys } from '../redis/keys.ts';
import type { AuditCheckpointClaim } from './audit-trail.ts';

/** `vmops-cp1.<seq>.<head hash>.<hmac>`: one word, so it can be pasted after `audit verify`. */
const TOKEN = /^vmops-cp1\.(\d{1,15})\.([0-9a-f]{64})\.([0-9a-f]{64})$/;

const mac = (key: string, claim: AuditCheckpointClaim): string =>
  createHmac('sha256', key).update(`vmops audit checkpoint\n${claim.seq}\n${claim.hash}`).digest('hex');

/** The checkpoint of a chain's head, as one word. */
export function signCheckpoint(key: string, claim: AuditCheckpointClaim): string {
  return `vmops-cp1.${claim.seq}.${claim.hash}.${mac(key, claim)}`;
}

/** Reads a checkpoint word and checks its signature; throws `bad_argument` when it is not one of ours. */
export function readCheckpoint(key: string | undefined, token: string): AuditCheckpointClaim {
  const match = TOKEN.exec(token.trim());
  if (!match) {
    throw new VmopsError(
      'bad_argument',
      'that is not an audit checkpoint: they look like vmops-cp1.<n>.<hash>.<signature>',
    );
  }
  const claim = { seq: Number(match[1]), hash: match[2] ?? '' };
  if (key === undefined) {
    throw new VmopsError(
      'bad_argument',
      'audit checkpoints are not configured here (audit.checkpoint.key), so none can be checked',
    );
  }
  const expected = Buffer.from(mac(key, claim), 'hex');
  const given = Buffer.from(match[3] ?? '', 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new VmopsError(
      'bad_argument',
      "that checkpoint is not signed with this vmops's key: it was changed or comes from elsewhere",
    );
  }
  return claim;
}

export interface CheckpointPoster {
  stop(): void;
  /** Posts a checkpoint now if the chain moved since the last one (tests, and the timer). */
  tick(): Promise<void>;
}

/** Posts a signed checkpoint every `every` ms, from one bot instance per period, when the chain moved. */
export function startCheckpoints(options: {
  redis: Redis;
  keys: RedisKeys;
  key: string;
  every: number;
  head(): Promise<{ hash: string; seq: number }>;
  post(text: string): Promise<void>;
  log: Pick<Logger, 'info' | 'warn'>;
  now?: () => number;
}): CheckpointPoster {
  const now = options.now ?? Date.now;
  let lastSeq = -1;
  const tick = async () => {
    const period = Math.floor(now() / options.every);
    const head = await options.head();
    if (head.seq === 0 || head.seq === lastSeq) return;
    const mine = await options.redis.set(
      options.keys.auditCheckpoint(period),
      head.seq,
      'PX',
      options.every * 2,
      'NX',
    );
    if (mine !== 'OK') return;
    lastSeq = head.seq;
    const token = signCheckpoint(options.key, head);
    options.log.info({ auditCheckpoint: token, seq: head.seq, head: head.hash }, 'audit checkpoint');
    await options.post(
      `Audit checkpoint: the trail has ${head.seq} entries, the newest ${head.hash.slice(0, 16)}…. Keep this message; \`audit verify ${token}\` checks the trail still holds them.`,
    );
  };
  const timer = setInterval(() => {
    tick().catch((error: unknown) => options.log.warn({ err: error }, 'could not post the audit checkpoint'));
  }, options.every);
  timer.unref();
  return { stop: () => clearInterval(timer), tick };
}
