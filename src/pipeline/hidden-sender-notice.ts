// The one notice a room gets when commands come from senders the network hides (an XMPP room that
// shows the bot nicknames only): such a sender is a guest (identify.ts), so every command is refused,
// and the room is told once why and how to fix it. "Once" is kept in Redis (SET NX, for a day), so
// several bot instances in one room, or a restarted bot, tell it once; a room still hidden a day later
// hears it again with its next command. The notice goes out like every reply, through the outbox.
import type { Redis } from 'ioredis';
import type { ChatTarget } from '../types.ts';

/** How long a room is not told again (ms). */
const TOLD_FOR_MS = 24 * 60 * 60 * 1000;

export interface HiddenSenderNoticeOptions {
  redis: Redis;
  /** The configured Redis prefix. */
  prefix: string;
}

/** Whether the room should be told now: true once per room per day, across instances. */
export async function firstHiddenSender(target: ChatTarget, o: HiddenSenderNoticeOptions): Promise<boolean> {
  const key = `${o.prefix}:hidden-sender-notice:${target.network}:${target.room}`;
  return (await o.redis.set(key, '1', 'PX', TOLD_FOR_MS, 'NX')) === 'OK';
}

/** What the room is told: who cannot be seen, why (the network's words), and what still works. */
export function hiddenSenderNotice(botName: string, room: string, because: string): string {
  return (
    `${botName} cannot see who sends commands in ${room}: ${because}. Until then every command said ` +
    `here is treated as coming from a guest and refused. Direct messages to ${botName} work meanwhile.`
  );
}
