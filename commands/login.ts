// `login`: a one-time link to the web console, signed in as the person asking. Only in a direct
// conversation, so a link never lands in a shared room; it works once and expires (web.loginTtl).
import ms from 'ms';
import { VmopsError } from '../src/errors.ts';
import type { CommandSpec } from '../src/grammar/command-spec.ts';

export const command: CommandSpec = {
  name: 'login',
  summary: 'get a one-time link that signs you in to the web console',
  description:
    'Answers, in a direct message only, with a link that signs you in to the web console as yourself, with your roles. The link works once and expires after a few minutes (web.loginTtl); the session it opens expires too (web.sessionTtl). Do not forward it: whoever opens it first is signed in as you.',
  examples: ['login'],
  access: 'known',
  args: [],
  async run(ctx) {
    if (!ctx.message.target.isDirect) {
      throw new VmopsError(
        'forbidden',
        'login answers only in a direct message, so that a sign-in link never lands in a shared room: send me login directly.',
      );
    }
    if (!ctx.logins) {
      throw new VmopsError('not_available', 'this bot serves no web console (web.enabled is false).');
    }
    const link = await ctx.logins.loginLink(ctx.principal.id);
    const valid = ms(Math.max(1000, link.expiresAt - Date.now()), { long: true });
    return {
      reply: {
        tone: 'info',
        text: `Sign in to the web console as ${ctx.principal.id}: ${link.url}\nThe link works once, for the next ${valid}. Do not share it.`,
      },
    };
  },
};
