// Ingress: decides whether a chat event is to be handled at all. Drops the bot's own messages, other
// bots' messages and history (backlog the network says is from before the bot was in the room); a
// command older than bot.maxMessageAge is not run but claimed as ignored (so no instance runs it later)
// and said to be told to its room (away-notices.ts). Then claims the event in Redis so a redelivery, or
// another bot instance seeing the same event, handles it at most once while it runs and never again
// once it is done (a handled event is remembered a week, as a field of a hash per period rather than a
// key of its own: about half the memory). A claim whose holder died lapses, so the platform's
// redelivery can still run the command (enqueueing is idempotent per event). An event taken in by the
// intake (src/intake/) is already claimed as `taken`; its handler takes that claim over, and so does
// the instance that finishes the entry of a dead one.
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.ts';
import { LuaScript, LuaScriptVarKeys } from '../redis/lua-script.ts';
import type { IncomingMessage } from '../types.ts';

export type DropReason = 'self' | 'bot' | 'history' | 'too-old' | 'duplicate';

export type IngressVerdict =
  | {
      admit: true;
      release(outcome: 'done' | 'failed'): Promise<void>;
      /**
       * The release as a script step for another module's script (the audit trail's append): run it
       * there, then call `released()`.
       */
      releaseStep(outcome: 'done' | 'failed'): { lua: string; keys: string[]; args: string[] };
      released(): void;
    }
  | {
      admit: false;
      reason: DropReason /** A command ignored for its age, claimed now: its room is to be told. */;
      tell?: boolean;
    };

export interface IngressOptions {
  redis: Redis;
  keys: RedisKeys;
  /** Messages older than this are not run (ms). */
  maxAgeMs: number;
  /** How long a claim holds while the command is handled (ms). */
  claimMs?: number;
  /** How long a handled event is remembered (ms); longer than any platform's redelivery window. */
  rememberMs?: number;
  /** Identifies this bot instance in the claim. */
  instanceId: string;
  now?: () => number;
}

/** How the intake hands an entry to the pipeline: when it was taken in, and that its `taken` claim is ours. */
export interface Admission {
  /** When the event was taken in (ms since epoch): its age is judged at that moment, not later. */
  takenAt: number;
  /** The event was claimed as `taken` by the intake: take over that claim, or one of a handler that died. */
  fromIntake: boolean;
  /**
   * The intake entry the event came in: releasing the claim acknowledges it in the same step (and sets
   * `acknowledged`), so the intake need not; it still acknowledges entries whose claim was never released.
   */
  entry?: { stream: string; group: string; id: string; acknowledged?: boolean };
}

/** The claim value of an event written to the intake stream and not yet handled. */
export const TAKEN = 'taken';
/** The claim value of a command ignored for its age. */
export const IGNORED = 'ignored:old';
export const REMEMBER_MS = 7 * 24 * 3600_000;

/** Cheap checks that need no Redis: own, bot, history and old messages. */
export function screen(message: IncomingMessage, maxAgeMs: number, now: number): DropReason | undefined {
  if (message.sender.isSelf) return 'self';
  if (message.sender.isBot) return 'bot';
  if (message.backlog?.kind === 'history') return 'history';
  if (now - message.sentAt > maxAgeMs) return 'too-old';
  return undefined;
}

/**
 * Where handled events are remembered (see RedisKeys.eventsDone): the hashes of the periods an event
 * handled now may be in, as seen by instances whose clocks differ by less than a period (the one
 * before, this one, the one after), and the one it goes in with the time that one expires (a period
 * after this one ends, so every event in it is remembered at least `rememberMs`).
 */
export function doneBuckets(
  keys: RedisKeys,
  rememberMs: number,
  now: number,
): { around: [string, string, string]; into: string; expiresAt: number } {
  const bucket = Math.floor(now / rememberMs);
  return {
    around: [keys.eventsDone(bucket - 1), keys.eventsDone(bucket), keys.eventsDone(bucket + 1)],
    into: keys.eventsDone(bucket),
    expiresAt: (bucket + 2) * rememberMs,
  };
}

/** The field of an event in the handled-events hashes. */
export const doneField = (message: Pick<IncomingMessage, 'eventId' | 'target'>) =>
  `${message.target.network}:${message.eventId}`;

/** Lua: returns `answer` when the event (field ARGV[i]) is among those handled (hashes KEYS[k..k+2]). */
export const IF_DONE = (k: number, field: string, answer: string) =>
  `for i = ${k}, ${k + 2} do if redis.call('HEXISTS', KEYS[i], ${field}) == 1 then return ${answer} end end`;

/** Claims an event ignored for its age, unless it was seen before: 1 when this call claimed it. */
const CLAIM_IGNORED = new LuaScript(
  `${IF_DONE(2, 'ARGV[3]', '0')}
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
return 0`,
  4,
);

/** Claims a command ignored for its age; true when this call claimed it (it was never seen before). */
export async function claimIgnored(message: IncomingMessage, options: IngressOptions): Promise<boolean> {
  const key = options.keys.event(message.target.network, message.eventId);
  const px = options.rememberMs ?? REMEMBER_MS;
  const { around } = doneBuckets(options.keys, px, options.now?.() ?? Date.now());
  return (await CLAIM_IGNORED.run(options.redis, [key, ...around], [IGNORED, px, doneField(message)])) === 1;
}

/**
 * Marks a claimed event done or failed, if still ours: done, its claim (KEYS[1]) goes and the event is
 * remembered in the handled-events hash KEYS[2] (field ARGV[6], which expires at ARGV[3]); failed, its
 * claim goes, so a redelivery may run it. And acknowledges and removes its intake entry (stream
 * KEYS[3], group ARGV[4], entry ARGV[5]), when there is one, whoever holds the claim: the entry has
 * been handled either way.
 */
const RELEASE = `
local released = 0
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if ARGV[2] == 'done' then
    redis.call('HSET', KEYS[2], ARGV[6], 1)
    redis.call('PEXPIREAT', KEYS[2], ARGV[3])
  end
  released = 1
end
if ARGV[5] ~= '' then
  redis.call('XACK', KEYS[3], ARGV[4], ARGV[5])
  redis.call('XDEL', KEYS[3], ARGV[5])
end
return released`;
const RELEASE_SCRIPT = new LuaScriptVarKeys(RELEASE);

/**
 * Claims an event for handling: free and not handled before, or (from the intake) claimed as taken or
 * by a handler whose intake entry this instance now holds because that handler's process is gone.
 */
const CLAIM = `
local v = redis.call('GET', KEYS[1])
if v == false then ${IF_DONE(2, 'ARGV[4]', '0')} end
if v == false or (ARGV[3] == '1' and (v == '${TAKEN}' or string.sub(v, 1, 11) == 'processing:')) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;
const CLAIM_SCRIPT = new LuaScript(CLAIM, 4);

export async function admit(
  message: IncomingMessage,
  options: IngressOptions,
  admission?: Admission,
): Promise<IngressVerdict> {
  const now = admission?.takenAt ?? options.now?.() ?? Date.now();
  const dropped = screen(message, options.maxAgeMs, now);
  if (dropped === 'too-old')
    return { admit: false, reason: dropped, tell: await claimIgnored(message, options) };
  if (dropped) return { admit: false, reason: dropped };
  const key = options.keys.event(message.target.network, message.eventId);
  const claim = `processing:${options.instanceId}`;
  const field = doneField(message);
  const rememberMs = options.rememberMs ?? REMEMBER_MS;
  const clock = () => options.now?.() ?? Date.now();
  const claimed = await CLAIM_SCRIPT.run(
    options.redis,
    [key, ...doneBuckets(options.keys, rememberMs, clock()).around],
    [claim, String(options.claimMs ?? 120_000), admission?.fromIntake ? '1' : '0', field],
  );
  if (claimed !== 1) return { admit: false, reason: 'duplicate' };
  const entry = admission?.entry;
  // Only while the claim is still ours: if it lapsed and another instance took the event, that one decides.
  const releaseFor = (outcome: 'done' | 'failed') => {
    const { into, expiresAt } = doneBuckets(options.keys, rememberMs, clock());
    return {
      keys: entry ? [key, into, entry.stream] : [key, into],
      args: [claim, outcome, String(expiresAt), entry?.group ?? '', entry?.id ?? '', field],
    };
  };
  const released = () => {
    if (entry) entry.acknowledged = true;
  };
  return {
    admit: true,
    async release(outcome) {
      const { keys, args } = releaseFor(outcome);
      await RELEASE_SCRIPT.run(options.redis, keys, args);
      released();
    },
    releaseStep: (outcome) => ({ lua: RELEASE, ...releaseFor(outcome) }),
    released,
  };
}
