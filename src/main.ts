// vmops entry point: `node src/main.ts` (what npm start runs). Reads the command line and starts the
// mode asked for; each mode is wired in src/app/, the one place that knows every part:
//   npm start                      local mode: terminal chat, in-process worker, private Redis
//                                  (src/app/run-bot.ts; `bot` mode is the same without the worker)
//   npm start -- worker            a worker for the Redis in config (src/app/run-worker.ts)
//   npm run vmops -- config check FILE                                 (src/app/config-check.ts)
import { enableCompileCache } from 'node:module';
import { resolve } from 'node:path';
import { loadBasics } from './app/basics.ts';
import { parseCli, USAGE } from './app/cli-args.ts';
import { asVmopsError } from './errors.ts';

async function main(argv: readonly string[]): Promise<number> {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) {
    process.stderr.write(
      `vmops needs Node 24 (this is ${process.version}): run it with npm start, which installs it.\n`,
    );
    return 1;
  }
  // What loads from here on (nearly all of vmops and its packages: main.ts imports only small modules
  // statically) is compiled once, and its TypeScript stripped once, then kept in Node's compile cache
  // (per user, in os.tmpdir() unless NODE_COMPILE_CACHE says where; NODE_DISABLE_COMPILE_CACHE=1 turns
  // it off): the next start skips that work, about a fifth of its CPU.
  enableCompileCache();
  const cli = parseCli(argv, process.env);
  if (cli.mode === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const basics = await loadBasics();
  const { loadConfig, defaultConfigPath, WORKER_SCOPE } = basics;
  if (cli.mode === 'config-check') {
    const { runConfigCheck } = await import('./app/config-check.ts');
    await runConfigCheck(cli.configFile, basics);
    return 0;
  }
  const file = cli.configFile ? resolve(cli.configFile) : defaultConfigPath;
  if (cli.mode === 'worker') {
    // A worker reads only what it uses: the team's config file works without the bot's chat secrets.
    const { runWorker } = await import('./app/run-worker.ts');
    await runWorker(cli, loadConfig(file, process.env, WORKER_SCOPE), basics);
  } else {
    const { runBot } = await import('./app/run-bot.ts');
    await runBot(cli, loadConfig(file), basics);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const failure = asVmopsError(error);
    process.stderr.write(`vmops: ${failure.message}\n`);
    if (failure.code === 'internal_error') process.stderr.write(`${(error as Error).stack ?? ''}\n`);
    process.exit(failure.code === 'config_invalid' ? 78 : 1);
  },
);
