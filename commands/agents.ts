// `agents`: the live workers, where they run and what they can do.
import type { CommandSpec } from '../src/grammar/command-spec.ts';
import { formatDuration } from '../src/render/duration.ts';

export const command: CommandSpec = {
  name: 'agents',
  aliases: ['workers'],
  summary: 'list live workers and what they can do',
  description:
    'Each worker announces its host, stages and formats and renews that every few seconds; one that stops renewing drops off this list.',
  examples: ['agents'],
  access: 'known',
  args: [],
  async run(ctx) {
    const agents = await ctx.liveWorkers();
    if (agents.length === 0) {
      return {
        reply: {
          text: 'No worker is running: start one with npm start -- worker (local mode runs one itself).',
          tone: 'info',
        },
      };
    }
    const now = Date.now();
    const lines = agents.map(
      (a) =>
        `${a.name} on ${a.host} · stages ${a.stages.join(', ')} · formats ${a.formats.join(', ')} · ${a.running} running · up ${formatDuration(now - a.startedAt)}`,
    );
    return { reply: { text: [`Live workers (${agents.length}):`, ...lines].join('\n'), tone: 'info' } };
  },
};
