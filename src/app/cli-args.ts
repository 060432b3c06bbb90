// Reads the command line: `vmops [local|bot|worker] [--config FILE] [--no-wait] [--stages a,b]` and
// `vmops config check FILE`. Unknown words and options stop with a usage message.
import { parseArgs } from 'node:util';
import { VmopsError } from '../errors.ts';
import { STAGES, type Stage } from '../types.ts';

/** Running vmops: local mode, the bot alone, or a worker. */
export interface RunCommand {
  mode: 'local' | 'bot' | 'worker';
  configFile: string | undefined;
  /** Local mode with piped input: wait for the jobs it started before exiting. */
  wait: boolean;
  /** Worker: only these stages. */
  stages: Stage[] | undefined;
  /** Worker: only these formats. */
  formats: string[] | undefined;
}

export type CliCommand = RunCommand | { mode: 'config-check'; configFile: string } | { mode: 'help' };

export const USAGE = `usage: npm start -- [local|bot|worker] [options]     (or: node src/main.ts …)
       npm run vmops -- config check FILE

  local    (default) terminal chat, in-process worker, private Redis unless redis.url is set
  bot      the chat networks from config, no worker
  worker   runs stage jobs from the Redis in config (redis.url or VMOPS_REDIS_URL)

options:
  --config FILE     configuration file (default config/default.yaml, or VMOPS_CONFIG)
  --no-wait         local mode with piped input: read every line at once and exit when the input
                    ends, without waiting for jobs (by default each line's jobs end first)
  --stages a,b      worker: only these stages (${STAGES.join(', ')})
  --formats a,b     worker: only these formats (default every format in config)
  --help            this text`;

export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliCommand {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true; strict: true }>>;
  const options = {
    config: { type: 'string' },
    'no-wait': { type: 'boolean' },
    stages: { type: 'string' },
    formats: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new VmopsError('bad_option', `${(error as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { mode: 'help' };
  const configFile = values.config ?? (env.VMOPS_CONFIG || undefined);
  const [first, second, third, ...rest] = positionals;
  if (first === 'config') {
    if (second !== 'check' || third === undefined || rest.length > 0) {
      throw new VmopsError('bad_option', `config needs: config check FILE\n${USAGE}`);
    }
    return { mode: 'config-check', configFile: third };
  }
  const mode = first ?? 'local';
  if ((mode !== 'local' && mode !== 'bot' && mode !== 'worker') || second !== undefined) {
    throw new VmopsError('bad_option', `unknown mode '${positionals.join(' ')}'\n${USAGE}`);
  }
  let stages: Stage[] | undefined;
  if (values.stages !== undefined) {
    stages = [];
    for (const word of values.stages.split(',').map((s) => s.trim())) {
      if (!(STAGES as readonly string[]).includes(word)) {
        throw new VmopsError('bad_option', `--stages: '${word}' is not a stage (${STAGES.join(', ')})`);
      }
      stages.push(word as Stage);
    }
  }
  const formats = values.formats
    ?.split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  return { mode, configFile, wait: !values['no-wait'], stages, formats };
}
