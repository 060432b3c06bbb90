// A CommandContext for handler tests: the real default config and commands, a recording fake
// JobControl, and people as the default config lists them.
import pino from 'pino';
import { allCommands } from '../../../commands/index.ts';
import type { Config } from '../../../config/schema.ts';
import { CommandRegistry } from '../../../src/command-registry.ts';
import type { CommandContext, CommandOutcome, JobControl, StageRequest } from '../../../src/command-spec.ts';
import { loadConfig } from '../../../src/config-load.ts';
import { parseCommand } from '../../../src/grammar/parse-command.ts';
import { vocabularyFromConfig } from '../../../src/grammar/vocabulary.ts';
import type { Access, IncomingMessage, JobStatusView, Principal, Role } from '../../../src/types.ts';

export const config = loadConfig();
const registry = new CommandRegistry(allCommands);
const vocabulary = vocabularyFromConfig(config);

export function person(id: string, roles: Role[]): Principal {
  return { id, known: true, roles, account: { network: 'shell', id }, displayName: id.toUpperCase() };
}

export const guest: Principal = {
  id: 'guest:shell:mallory',
  known: false,
  roles: [],
  account: { network: 'shell', id: 'mallory' },
  displayName: 'Definitely Alice',
};

export function view(partial: Partial<JobStatusView> & { jobId: string }): JobStatusView {
  return {
    stage: 'build',
    product: 'cernvm',
    version: '2.6',
    format: 'kvm',
    state: 'queued',
    percent: 0,
    requestedBy: 'Alice',
    createdAt: 1_000,
    attempts: 1,
    ...partial,
  };
}

type Call =
  | { method: 'submit'; requests: StageRequest[]; context: Parameters<JobControl['submit']>[1] }
  | { method: 'get' | 'cancel' | 'retry'; jobId: string; by?: Principal; origin?: unknown }
  | { method: 'list'; limit: number }
  | { method: 'logs'; jobId: string; tail: number };

/** A JobControl that knows the given jobs and logs, and records every call. */
export function fakeJobs(jobs: JobStatusView[] = [], logs: Record<string, string[]> = {}) {
  const calls: Call[] = [];
  const control: JobControl = {
    async submit(requests, context) {
      calls.push({ method: 'submit', requests, context });
      return requests.map((_request, i) => `job${i + 1}abc`);
    },
    async get(jobId) {
      calls.push({ method: 'get', jobId });
      return jobs.find((job) => job.jobId === jobId);
    },
    async list(limit) {
      calls.push({ method: 'list', limit });
      return jobs.slice(0, limit);
    },
    async logs(jobId, tail) {
      calls.push({ method: 'logs', jobId, tail });
      return logs[jobId]?.slice(-tail);
    },
    async cancel(jobId, by) {
      calls.push({ method: 'cancel', jobId, by });
      return view({ jobId, state: 'cancelled' });
    },
    async retry(jobId, by, origin) {
      calls.push({ method: 'retry', jobId, by, origin });
      return view({ jobId, attempts: 2 });
    },
  };
  return { control, calls };
}

function mayRun(principal: Principal, access: Access): boolean {
  if (access === 'anyone') return true;
  if (!principal.known) return false;
  return access === 'known' || principal.roles.includes('admin') || principal.roles.includes(access);
}

export const roomMessage = (text: string): IncomingMessage => ({
  eventId: 'ev-1',
  sender: { id: 'alice', displayName: 'Alice', isBot: false, isSelf: false },
  target: { network: 'shell', room: 'tty', isDirect: false },
  text,
  mentioned: false,
  sentAt: 1_000,
});

export interface RunOptions {
  principal?: Principal;
  jobs?: JobControl;
  config?: Config;
  /** The message as it arrived; by default `vmops: <text>` in a room. */
  message?: IncomingMessage;
}

/** Parses `text` with the real grammar and runs the command's handler. */
export async function run(text: string, options: RunOptions = {}): Promise<CommandOutcome> {
  const cfg = options.config ?? config;
  const parsed = parseCommand(text, registry, vocabulary, cfg.bot.maxCommandLength);
  if (!parsed.ok) throw new Error(`"${text}" did not parse: ${parsed.error.message}`);
  const principal = options.principal ?? person('alice', ['operator']);
  const ctx: CommandContext = {
    config: cfg,
    principal,
    message: options.message ?? roomMessage(`vmops: ${text}`),
    jobs: options.jobs ?? fakeJobs().control,
    commands: registry.all(),
    may: (spec) => mayRun(principal, cfg.policy.commands[spec.name] ?? spec.access),
    log: pino({ level: 'silent' }),
  };
  return parsed.value.spec.run(ctx, parsed.value.args);
}
