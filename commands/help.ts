// `help [command]`: the commands the asker may run, or everything about one command.
import type { CommandSpec } from '../src/command-spec.ts';
import { VmopsError } from '../src/errors.ts';
import { printable } from '../src/grammar/echo.ts';
import { accessText, helpFor, helpList } from '../src/grammar/usage.ts';

export const command: CommandSpec = {
  name: 'help',
  summary: 'list the commands you may run, or explain one',
  examples: ['help', 'help build', 'build --help'],
  access: 'anyone',
  args: [{ name: 'command', kind: 'command', optional: true }],
  async run(ctx, args) {
    const name = args.words.command;
    if (name === undefined) return { reply: { text: helpList(ctx.commands, ctx.may), tone: 'info' } };
    const spec = ctx.commands.find(
      (candidate) => candidate.name === name || candidate.aliases?.includes(name),
    );
    if (spec === undefined) {
      throw new VmopsError(
        'unknown_command',
        `unknown command '${printable(name)}': type help for the list.`,
      );
    }
    const access = ctx.config.policy.commands[spec.name] ?? spec.access;
    const yours = ctx.may(spec) ? 'You may run it.' : `You may not run it: it is for ${accessText(access)}.`;
    return { reply: { text: `${helpFor(spec, access)}\n${yours}`, tone: 'info' } };
  },
};
