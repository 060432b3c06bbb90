// A CommandContext for handler tests: the real default config, commands and policy, a recording fake
// JobControl that answers like the real one, and people as the default config lists them.
import pino from 'pino';
import { allCommands } from '../../../commands/index.ts';
import type { Config } from '../../../config/schema.ts';
import { loadConfig } from '../../../src/app/config-load.ts';
import { VmopsError } from '../../../src/errors.ts';
import { CommandRegistry } from '../../../src/grammar/command-registry.ts';
import type {
  CatalogReader,
  CommandContext,
  CommandOutcome,
  JobControl,
  RoomSubscriptions,
  StageRequest,
} from '../../../src/grammar/command-spec.ts';
import { parseCommand } from '../../../src/grammar/parse-command.ts';
import { LIFECYCLE_EVENTS, vocabularyFromConfig } from '../../../src/grammar/vocabulary.ts';
import { accessFor, mayRun } from '../../../src/people/authorize.ts';
import type { AgentInfo } from '../../../src/queue/agent-presence.ts';
import { FINAL_STATES } from '../../../src/queue/job-view.ts';
import type { ChatTarget, IncomingMessage, JobStatusView, Principal, Role } from '../../../src/types.ts';

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

/** When the fake says a job was cancelled or retried. */
export const FAKE_NOW = 9_000;

/**
 * A JobControl that knows the given jobs and logs and records every call. `cancel` and `retry` answer
 * as the real job control does (src/queue/job-control.ts): unknown_job and job_state refusals, a queued
 * job cancelled at once, a running one asked to stop.
 */
export function fakeJobs(jobs: JobStatusView[] = [], logs: Record<string, string[]> = {}) {
  const calls: Call[] = [];
  const mustGet = (jobId: string): JobStatusView => {
    const found = jobs.find((job) => job.jobId === jobId);
    if (!found) throw new VmopsError('unknown_job', `no job '${jobId}': type jobs to see recent jobs.`);
    return found;
  };
  const control: JobControl = {
    async check() {},
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
      const found = mustGet(jobId);
      if (FINAL_STATES.has(found.state)) {
        throw new VmopsError(
          'job_state',
          `job ${jobId} has already ended (${found.state}); there is nothing to cancel.`,
        );
      }
      if (found.state === 'queued') {
        const error = `cancelled by ${by.id} before it started`;
        return { ...found, state: 'cancelled', finishedAt: FAKE_NOW, error };
      }
      return { ...found, message: `cancel requested by ${by.id}` };
    },
    async retry(jobId, by, origin) {
      calls.push({ method: 'retry', jobId, by, origin });
      const found = mustGet(jobId);
      if (found.state !== 'failed' && found.state !== 'cancelled') {
        throw new VmopsError(
          'job_state',
          `job ${jobId} is ${found.state}; only a failed or cancelled job can be retried.`,
        );
      }
      const { error: _error, finishedAt: _finishedAt, ...again } = found;
      return { ...again, state: 'queued', attempts: found.attempts + 1 };
    },
  };
  return { control, calls };
}

export const roomMessage = (text: string): IncomingMessage => ({
  eventId: 'ev-1',
  sender: { id: 'alice', displayName: 'Alice', isBot: false, isSelf: false },
  target: { network: 'shell', room: 'tty', isDirect: false },
  text,
  mentioned: false,
  sentAt: 1_000,
});

/** A catalog with nothing in it. */
export const emptyCatalog: CatalogReader = {
  version: async (product, version) => ({ product, version, images: [], clouds: [], updates: 0 }),
  versions: async () => [],
  report: async () => undefined,
  expunge: async (product, version) => ({ product, version, images: [], clouds: [], updates: 0 }),
};

/** Room subscriptions in memory, keyed like the real store (`network:room`), events in LIFECYCLE_EVENTS order. */
export function fakeSubscriptions(): RoomSubscriptions & { rooms: Map<string, string[]> } {
  const rooms = new Map<string, string[]>();
  const key = (target: ChatTarget) => `${target.network}:${target.room}`;
  const change = (target: ChatTarget, edit: (events: Set<string>) => void) => {
    const events = new Set(rooms.get(key(target)));
    edit(events);
    const now = LIFECYCLE_EVENTS.filter((event) => events.has(event));
    if (now.length > 0) rooms.set(key(target), now);
    else rooms.delete(key(target));
    return Promise.resolve(now);
  };
  return {
    rooms,
    subscribe: (target, events) =>
      change(target, (set) => {
        for (const event of events) set.add(event);
      }),
    unsubscribe: (target, events) =>
      change(target, (set) => {
        for (const event of events) set.delete(event);
      }),
    list: async (target) => rooms.get(key(target)) ?? [],
  };
}

export interface RunOptions {
  principal?: Principal;
  jobs?: JobControl;
  catalog?: CatalogReader;
  workers?: AgentInfo[];
  subscriptions?: RoomSubscriptions;
  config?: Config;
  /** The message as it arrived; by default `vmops: <text>` in a room. */
  message?: IncomingMessage;
  approvals?: CommandContext['approvals'];
  oncall?: CommandContext['oncall'];
  audit?: CommandContext['audit'];
}

/** A service a handler test did not expect to be used: any call fails the test. */
function unexpected<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get: (_target, method) => () => {
      throw new Error(`${name}.${String(method)} was not expected in this test`);
    },
  });
}

/** Parses `text` with the real grammar and runs the command's handler, with the real policy. */
export async function run(text: string, options: RunOptions = {}): Promise<CommandOutcome> {
  const cfg = options.config ?? config;
  const parsed = parseCommand(text, registry, vocabulary, cfg.bot.maxCommandLength);
  if (!parsed.ok) throw new Error(`"${text}" did not parse: ${parsed.error.message}`);
  const principal = options.principal ?? person('alice', ['operator']);
  const ctx: CommandContext = {
    config: cfg,
    principal,
    message: options.message ?? roomMessage(`vmops: ${text}`),
    commandText: parsed.value.text,
    jobs: options.jobs ?? fakeJobs().control,
    catalog: options.catalog ?? emptyCatalog,
    liveWorkers: async () => options.workers ?? [],
    subscriptions: options.subscriptions ?? fakeSubscriptions(),
    commands: registry.all(),
    may: (spec) => mayRun(principal, accessFor(spec, cfg.policy)),
    approvals: options.approvals ?? unexpected('approvals'),
    oncall: options.oncall ?? unexpected('oncall'),
    audit: options.audit ?? unexpected('audit'),
    log: pino({ level: 'silent' }),
  };
  return parsed.value.spec.run(ctx, parsed.value.args);
}
