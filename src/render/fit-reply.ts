// Cuts a reply to what one message of a network may carry, saying how much was left out, and, for a
// job's status message, where the whole text can be read (`log <job>`).
import type { AdapterLimits, Reply } from '../types.ts';

export function fitReply(reply: Reply, limits: Pick<AdapterLimits, 'maxMessageLength'>): Reply {
  const chars = Array.from(reply.text);
  if (chars.length <= limits.maxMessageLength) return reply;
  const jobId = reply.status?.jobId;
  const note = (left: number) =>
    jobId
      ? `\n… (${left} more characters; \`log ${jobId}\` shows everything)`
      : `\n… (${left} more characters not shown)`;
  const keep = Math.max(0, limits.maxMessageLength - Array.from(note(chars.length)).length);
  return { ...reply, text: `${chars.slice(0, keep).join('')}${note(chars.length - keep)}` };
}
