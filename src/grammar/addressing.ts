// Decides whether a chat message speaks to the bot and returns its command part: anything in a direct
// message, the text of a platform mention, or `@vmops …`, `vmops: …`, `vmops, …`, `!…` in a room.
import type { IncomingMessage } from '../types.ts';

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `@name`, `@name:`, `name:`, `name,` at the start, in any case; returns the rest or undefined. */
function afterName(text: string, botName: string): string | undefined {
  const name = escapeRegExp(botName);
  const addressed = new RegExp(`^(?:@${name}(?=$|[\\s:,])[:,]?|${name}[:,])`, 'iu').exec(text);
  return addressed ? text.slice(addressed[0].length).trim() : undefined;
}

/** `!build …`: a bang directly followed by a letter. */
function afterBang(text: string): string | undefined {
  return /^!\p{L}/u.test(text) ? text.slice(1).trim() : undefined;
}

/** The command part of a message, or undefined when the message is not addressed to the bot. */
export function commandText(message: IncomingMessage, botName: string): string | undefined {
  const text = message.text.trim();
  if (message.target.isDirect || message.mentioned) {
    const stripped = afterName(text, botName) ?? text.replace(/^!/, '');
    return stripped.replace(/^[:,]/, '').trim();
  }
  return afterName(text, botName) ?? afterBang(text);
}
