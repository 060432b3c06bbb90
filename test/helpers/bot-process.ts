// A real bot process for the intake chaos tests: `node src/main.ts bot --config FILE` on the run's
// Redis under a given prefix, connected to the local Slack (Socket Mode), with the web console off and
// its own data directory. Its log goes to the data directory (vmops.log), shown when a wait fails.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { repoRoot } from '../../src/app/config-load.ts';
import type { FakeSlack } from './slack-server.ts';
import { stopChild } from './stop-child.ts';

export interface BotProcess {
  child: ChildProcess;
  /** The bot's log so far (pino JSON lines) and its stderr. */
  output(): string;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Sends a signal to this process (never to anything else). */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after 20 s, and removes its data directory. */
  stop(): Promise<void>;
}

export interface BotProcessOptions {
  redisUrl: string;
  prefix: string;
  slack: FakeSlack;
  /** Slack user ids of people in the default config (`alice` → `U0ALICE`). */
  slackAccounts: Record<string, string>;
}

export function startBotProcess(options: BotProcessOptions): BotProcess {
  const dir = mkdtempSync(join(tmpdir(), 'vmops-bot-process-'));
  const config = parse(readFileSync(join(repoRoot, 'config', 'default.yaml'), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  config.redis = { ...config.redis, prefix: options.prefix };
  config.bot = { ...config.bot, throttle: { commands: 100_000, per: '1m' } };
  config.web = { enabled: false };
  const people = config.people as Record<string, { accounts: Record<string, string> }>;
  for (const [name, account] of Object.entries(options.slackAccounts)) {
    const person = people[name];
    if (person) person.accounts.slack = account;
  }
  config.networks = {
    slack: {
      token: options.slack.botToken,
      appToken: options.slack.appToken,
      apiUrl: options.slack.apiUrl,
    },
  };
  const file = join(dir, 'vmops.yaml');
  writeFileSync(file, stringify(config));
  const child = spawn(process.execPath, [join(repoRoot, 'src', 'main.ts'), 'bot', '--config', file], {
    cwd: repoRoot,
    env: { ...process.env, VMOPS_REDIS_URL: options.redisUrl, VMOPS_DATA_DIR: dir, VMOPS_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  const logFile = join(dir, 'vmops.log');
  return {
    child,
    output: () => `${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}${stderr}`,
    exited,
    signal(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    async stop() {
      await stopChild(child, { graceMs: 20_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
