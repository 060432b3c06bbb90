// One tick of a schedule: queue the builds, wait for them, then queue tests of the formats that built.
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import { asVmopsError } from '../errors.ts';
import type { JobControl, StageRequest } from '../grammar/command-spec.ts';
import { FINAL_STATES } from '../queue/job-view.ts';
import type { ChatTarget, IncomingMessage, JobStatusView, Principal } from '../types.ts';

export interface TickContext {
  config: Config;
  jobs: JobControl;
  log: Logger;
  /** How often the builds are looked at (ms). */
  pollMs: number;
  /** How long the tick waits for its builds (ms). */
  waitLimitMs: number;
  /** Aborted when the bot stops: the wait ends by throwing. */
  signal: AbortSignal;
}

/** What a tick did, as the tick job's return value. */
export interface TickOutcome {
  schedule: string;
  /** Build job ids, by format. */
  builds: Record<string, string>;
  /** Test job ids, by format. */
  tests: Record<string, string>;
  /** Why the tick ended early, if it did. */
  stopped?: string;
}

/** Who a schedule's jobs are asked by. */
export function schedulePrincipal(name: string): Principal {
  return {
    id: `schedule:${name}`,
    known: true,
    roles: ['operator'],
    account: { network: 'schedule', id: name },
    displayName: `schedule ${name}`,
  };
}

/** Transient failures are thrown (the tick job fails); refusals end the tick. */
const TRANSIENT = new Set(['internal_error', 'redis_unavailable']);

/**
 * Runs one tick as the schedule's own principal. The chat event id is the tick's id, so a tick run again
 * (a bot died under it) finds its jobs already queued and queues nothing new. A refusal of job control
 * (image busy, version revoked, no live worker) ends the tick: it is logged and returned, not thrown.
 */
export async function runScheduleTick(ctx: TickContext, name: string, tickId: string): Promise<TickOutcome> {
  const outcome: TickOutcome = { schedule: name, builds: {}, tests: {} };
  const log = ctx.log.child({ schedule: name, tick: tickId });
  const spec = ctx.config.schedules[name];
  const product = spec ? ctx.config.products[spec.product] : undefined;
  if (!spec || !product) {
    log.warn('a tick of a schedule that is no longer in config: nothing done');
    return { ...outcome, stopped: 'not in config' };
  }
  const { version } = spec;
  const formats = spec.formats.includes('all') ? [...product.formats] : [...spec.formats];
  const principal = schedulePrincipal(name);
  const target: ChatTarget = { network: 'schedule', room: name, isDirect: false };

  /** Queues one stage for the formats; undefined when job control refused (logged). */
  const submit = async (stage: 'build' | 'test', list: string[], eventId: string) => {
    const commandText = `${stage} ${spec.product} ${version} ${list.join(' ')}`;
    const requests: StageRequest[] = list.map((format) => ({
      stage,
      product: spec.product,
      version,
      format,
    }));
    const message: IncomingMessage = {
      eventId,
      sender: { id: principal.id, displayName: principal.displayName, isBot: true, isSelf: true },
      target,
      text: commandText,
      mentioned: false,
      sentAt: Date.now(),
    };
    try {
      const ids = await ctx.jobs.submit(requests, { principal, message, commandText });
      log.info({ stage, jobs: ids }, 'schedule queued jobs');
      return Object.fromEntries(list.map((format, i) => [format, ids[i] ?? '']));
    } catch (error) {
      const failure = asVmopsError(error);
      if (TRANSIENT.has(failure.code)) throw error;
      log.warn({ stage, code: failure.code, reason: failure.message }, 'schedule tick refused');
      outcome.stopped = `${stage} refused (${failure.code}): ${failure.message}`;
      return undefined;
    }
  };

  let testFormats = formats;
  if (spec.stages.includes('build')) {
    const builds = await submit('build', formats, tickId);
    if (!builds) return outcome;
    outcome.builds = builds;
    const views = await waitForJobs(ctx, Object.values(builds));
    if (!views) {
      log.warn({ waitedMs: ctx.waitLimitMs }, 'schedule builds still running: tests not queued');
      outcome.stopped = 'builds did not end in time';
      return outcome;
    }
    testFormats = formats.filter((format) => views.get(builds[format] ?? '')?.state === 'succeeded');
    log.info({ built: testFormats }, 'schedule builds ended');
  }
  if (spec.stages.includes('test') && testFormats.length > 0) {
    outcome.tests = (await submit('test', testFormats, `${tickId}:test`)) ?? {};
  }
  return outcome;
}

/** Polls until every job is final (or gone); undefined when the wait limit passes first. */
async function waitForJobs(
  ctx: TickContext,
  ids: readonly string[],
): Promise<Map<string, JobStatusView> | undefined> {
  const deadline = Date.now() + ctx.waitLimitMs;
  for (;;) {
    const views = new Map<string, JobStatusView>();
    let open = false;
    for (const id of ids) {
      const view = await ctx.jobs.get(id);
      if (view) views.set(id, view);
      if (view && !FINAL_STATES.has(view.state)) open = true;
    }
    if (!open) return views;
    if (Date.now() >= deadline) return undefined;
    await delay(Math.min(ctx.pollMs, Math.max(0, deadline - Date.now())), undefined, { signal: ctx.signal });
  }
}
