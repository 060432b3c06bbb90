// `help [command]`: the commands the asker may run, or everything about one command.
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { accessFor } from '../src/people/authorize.ts';
import { accessText, helpFor, helpList } from '../src/render/help.ts';

export const command: CommandSpec = {
  name: 'help',
  summary: 'list the commands you may run, or explain one',
  examples: ['help', 'help build', 'build --help'],
  access: 'anyone',
  args: [{ name: 'command', kind: 'command', optional: true }],
  async run(ctx, args) {
    // The binder has turned `help <word>` into the name of a registered command (or refused it).
    const spec = ctx.commands.find((candidate) => candidate.name === args.words.command);
    if (spec === undefined) return { reply: { text: helpList(ctx.commands, ctx.may), tone: 'info' } };
    const access = accessFor(spec, ctx.config.policy);
    const yours = ctx.may(spec) ? 'You may run it.' : `You may not run it: it is for ${accessText(access)}.`;
    return { reply: { text: `${helpFor(spec, access)}\n${yours}`, tone: 'info' } };
  },
};
