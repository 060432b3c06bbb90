// `people`: everyone the config lists, with roles and accounts, and who is on call (admins only: it
// shows every account id).
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { printable } from '../src/grammar/echo.ts';

export const command: CommandSpec = {
  name: 'people',
  aliases: ['who'],
  summary: 'list the people vmops knows, their roles and accounts',
  description:
    'One line per person from the config: roles, and the account on each network that proves them. The person on call is marked.',
  examples: ['people'],
  access: 'admin',
  args: [],
  async run(ctx) {
    const { current } = await ctx.oncall.whoIsOnCall();
    const entries = Object.entries(ctx.config.people);
    if (entries.length === 0)
      return { reply: { tone: 'info', text: 'The config lists nobody: everyone is a guest.' } };
    const lines = entries.map(([person, spec]) => {
      const roles = spec.roles.length > 0 ? spec.roles.join(', ') : 'no roles';
      const accounts = Object.entries(spec.accounts)
        .map(([network, id]) => `${network}:${printable(id)}`)
        .join(', ');
      const oncall = current?.person === person ? '  (on call)' : '';
      return `${person}: ${roles}; ${accounts || 'no accounts'}${oncall}`;
    });
    return { reply: { tone: 'info', text: [`${entries.length} people:`, ...lines].join('\n') } };
  },
};
