// Cuts a reply to what one message of a network may carry, saying how much was left out.
import type { AdapterLimits, Reply } from '../types.ts';

export function fitReply(reply: Reply, limits: Pick<AdapterLimits, 'maxMessageLength'>): Reply {
  const chars = Array.from(reply.text);
  if (chars.length <= limits.maxMessageLength) return reply;
  const note = (left: number) => `\n… (${left} more characters not shown)`;
  const keep = Math.max(0, limits.maxMessageLength - note(chars.length).length);
  return { ...reply, text: `${chars.slice(0, keep).join('')}${note(chars.length - keep)}` };
}
