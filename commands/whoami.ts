// `whoami`: who the bot thinks you are: person or guest, roles, every account of yours it knows, the
// account that proves it this time, and whether you are on call.
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { echo, printable } from '../src/grammar/echo.ts';
import { showTime } from '../src/oncall/rota.ts';

export const command: CommandSpec = {
  name: 'whoami',
  aliases: ['me'],
  summary: 'show who vmops thinks you are and what roles you have',
  description:
    'vmops knows people by the account id the network proves, never by display names or nicknames. The same person on Slack, Matrix, XMPP and the terminal is one person, with one set of roles.',
  examples: ['whoami'],
  access: 'anyone',
  args: [],
  async run(ctx) {
    const { principal } = ctx;
    const account = `${principal.account.network}:${printable(principal.account.id)}`;
    const never = `Only that account id counts; display names (yours here: ${echo(principal.displayName)}) never do.`;
    if (!principal.known) {
      const text = [
        `You are a guest: the account ${account} is not listed in the vmops config, so you have no roles.`,
        never,
        `An admin can add it under people.<you>.accounts.${principal.account.network} in the config.`,
      ].join('\n');
      return { reply: { text, tone: 'info' } };
    }
    const roles = principal.roles.length > 0 ? `the roles ${principal.roles.join(', ')}` : 'no roles';
    const accounts = Object.entries(ctx.config.people[principal.id]?.accounts ?? {}).map(
      ([network, id]) => `${network}:${printable(id)}`,
    );
    const { current } = await ctx.oncall.whoIsOnCall();
    const lines = [
      `You are ${principal.id}, with ${roles}, speaking from the account ${account}.`,
      never,
      `Your accounts: ${accounts.join(', ')}; from any of them you are ${principal.id}.`,
    ];
    if (current?.person === principal.id) {
      lines.push(`You are on call until ${showTime(current.until, ctx.config.oncall.timezone)}.`);
    }
    return { reply: { text: lines.join('\n'), tone: 'info' } };
  },
};
