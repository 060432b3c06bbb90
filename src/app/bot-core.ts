// The bot's half of vmops, wired: Redis connection, queues and job control, notifier, command registry,
// room subscriptions and their announcer, the schedule runner, and the pipeline over a set of adapters.
// run-bot.ts adds the adapters, the worker and the process life.

import type { Logger } from 'pino';
import { allCommands } from '../../commands/index.ts';
import type { Config } from '../../config/schema.ts';
import { ApprovalDesk } from '../approvals/approval-desk.ts';
import { ApprovalMessages, requestOfReply } from '../approvals/approval-messages.ts';
import { ApprovalStore } from '../approvals/approval-store.ts';
import { type CheckpointPoster, startCheckpoints } from '../audit/audit-checkpoint.ts';
import { AuditJournal } from '../audit/audit-journal.ts';
import { AuditTrail } from '../audit/audit-trail.ts';
import { Catalog } from '../catalog/catalog.ts';
import { catalogReader as readCatalog } from '../catalog/catalog-reader.ts';
import { checkStageGates } from '../catalog/stage-gates.ts';
import { VmopsError } from '../errors.ts';
import { commandText } from '../grammar/addressing.ts';
import { CommandRegistry } from '../grammar/command-registry.ts';
import type { CatalogReader, JobControl } from '../grammar/command-spec.ts';
import { vocabularyFromConfig } from '../grammar/vocabulary.ts';
import { Intake, type Taken } from '../intake/intake.ts';
import { jobDetails } from '../notifier/job-details.ts';
import { Notifier } from '../notifier/notifier.ts';
import { type BotHealth, botHealth } from '../observability/health.ts';
import { instrumentAdapter } from '../observability/instrument-adapter.ts';
import { type MetricsSink, noMetrics } from '../observability/metrics-sink.ts';
import { OnCallDesk } from '../oncall/oncall-desk.ts';
import { Outbox } from '../outbox/outbox.ts';
import { identitiesFromConfig } from '../people/identify.ts';
import { checkPolicy } from '../people/policy-check.ts';
import { AwayNotices } from '../pipeline/away-notices.ts';
import {
  executeApproved,
  type HandledMessage,
  handleMessage,
  type PipelineDeps,
} from '../pipeline/handle-message.ts';
import { firstHiddenSender } from '../pipeline/hidden-sender-notice.ts';
import { redisThrottle } from '../pipeline/throttle.ts';
import { type AgentInfo, liveAgents } from '../queue/agent-presence.ts';
import { createJobControl } from '../queue/job-control.ts';
import { configuredFormats, openStageQueues } from '../queue/stage-queues.ts';
import { checkWorkers } from '../queue/worker-gate.ts';
import { connectRedis, type RedisTarget } from '../redis/connect.ts';
import { redisKeys } from '../redis/keys.ts';
import { checkProductionRedis } from '../redis/production-check.ts';
import { type ScheduleRunner, startScheduleRunner } from '../schedules/schedule-runner.ts';
import { LifecycleAnnouncer } from '../subscriptions/lifecycle-announcer.ts';
import { SubscriptionStore } from '../subscriptions/subscription-store.ts';
import type { ChatAdapter, ChatTarget, IncomingMessage, Reply } from '../types.ts';
import { WebSessions } from '../web/sessions.ts';
import { attachBotMetrics } from './bot-metrics.ts';

export interface BotCore {
  /** Runs the pipeline on a message at once, waiting on its replies (the terminal, the web console, tests). */
  handle(message: IncomingMessage): ReturnType<typeof handleMessage>;
  /**
   * Takes a network's message in durably (src/intake/): resolves once it is in Redis, when the adapter
   * may acknowledge it; the pipeline runs on it soon after, on this instance or another.
   */
  take(message: IncomingMessage): Promise<Taken>;
  /** The durable intake (stop it before the adapters, so what it finishes can still be answered). */
  intake: Intake;
  notifier: Notifier;
  /** Every send and edit of this instance goes out through it (paced with the other instances in Redis). */
  outbox: Outbox;
  /** Job control, for what is not typed in chat (schedules, tests). */
  jobs: JobControl;
  /** The schedule runner (its queue holds the ticks). */
  schedules: ScheduleRunner;
  /** Approval requests. */
  approvals: ApprovalDesk;
  /** The audit trail. */
  audit: AuditTrail;
  /** Signed audit checkpoints, when audit.checkpoint is configured. */
  checkpoints: CheckpointPoster | undefined;
  /** What is wrong with the Redis for production (eviction, persistence), checked at start; also logged. */
  redisWarnings: string[];
  /** The image catalog and test reports (for the web console). */
  catalog: CatalogReader;
  /** Workers whose heartbeat is alive (for the web console). */
  liveWorkers(): Promise<AgentInfo[]>;
  /** Web console login links and sessions. */
  sessions: WebSessions;
  /** This process's Prometheus metrics (/metrics); counting nothing when the web console is off. */
  metrics: MetricsSink;
  /** Liveness and readiness (/healthz, /readyz). */
  health: BotHealth;
  close(): Promise<void>;
}

/** The bot's half: pipeline, job control and notifier over the given adapters. */
export async function startBotCore(options: {
  config: Config;
  /** A redis:// URL, or a Sentinel or Cluster topology. */
  redisUrl: RedisTarget;
  adapters: ReadonlyMap<string, ChatAdapter>;
  log: Logger;
  instanceId: string;
  /** How long a status message's writer lease lasts without renewal (ms; default 30 s). */
  statusLeaseMs?: number;
  /** Settled jobs the notifier remembers (default 10,000). */
  settledKept?: number;
  /** First wait before the outbox tries a retryable failed send or edit again (ms; default 500, doubling). */
  sendRetryMs?: number;
  /** How long close() lets the outbox drain (ms; default 3 s). */
  outboxDrainMs?: number;
  /** How often a schedule tick looks at its builds (ms; default 1 s). */
  schedulePollMs?: number;
  /** How often approval requests are checked for expiry and escalation (ms; default 1 s). */
  approvalSweepMs?: number;
  /** The clock (tests move it to test rotas and expiry). */
  now?: () => number;
  /** The process's metrics registry (run-bot.ts adds the process metrics); default a new one, or none
   * (noMetrics) when the web console, which serves /metrics, is off. */
  metrics?: MetricsSink;
  /** Where this process anchors the audit trail (its journal, beside the other processes' on this host). */
  auditDir?: string;
  /** Called with each message the intake has handled and what became of it (run-bot.ts collects jobs; tests watch). */
  onHandled?(message: IncomingMessage, handled: HandledMessage): void;
  /** Intake timing: heartbeat (ms; default 1 s) and when any pending entry is taken over (ms; default 60 s). */
  intake?: { heartbeatMs?: number; reclaimIdleMs?: number };
}): Promise<BotCore> {
  const { config, redisUrl, log } = options;
  // Config mistakes first, before anything connects or starts that would then have to be stopped.
  const registry = new CommandRegistry(allCommands);
  checkPolicy(config, registry);
  // prom-client is loaded only when something will serve what it counts.
  const metrics =
    options.metrics ??
    (config.web.enabled ? new (await import('../observability/metrics.ts')).VmopsMetrics() : noMetrics);
  // Every send and edit, whoever makes it (pipeline, notifier, announcer, approvals), is timed and counted.
  const adapters: ReadonlyMap<string, ChatAdapter> = new Map(
    [...options.adapters].map(([name, adapter]) => [name, instrumentAdapter(adapter, metrics)]),
  );
  const redis = connectRedis(redisUrl, { name: `vmops-bot-${options.instanceId}`, log });
  const keys = redisKeys(config.redis.prefix);
  const redisWarnings = await checkProductionRedis(redis, log);
  const queues = openStageQueues({
    connection: redis,
    prefix: config.redis.prefix,
    formats: configuredFormats(config.products),
    attempts: config.jobs.attempts,
    keepFinished: config.jobs.keepFinished,
    keepFinishedFor: config.jobs.keepFinishedFor,
  });
  const catalog = new Catalog(redis, keys);
  // Once per catalog: versions stored under an old spelling, so the gates find them with one read.
  await catalog.indexLegacySpellings(Object.keys(config.products));
  const jobs = createJobControl({
    redis,
    keys,
    queues,
    keepRecent: config.jobs.keepFinished,
    gate: async (requests) => {
      await checkStageGates(catalog, requests);
      if (config.jobs.refuseWithoutWorker) checkWorkers(await liveAgents(redis, keys), requests);
    },
  });
  const catalogReader = readCatalog(redis, keys, catalog);
  // One outbox for every network: all sends and edits, paced per platform budget, shared in Redis.
  const outbox = new Outbox({
    adapters,
    redis,
    prefix: `${config.redis.prefix}:`,
    instanceId: options.instanceId,
    log: log.child({ part: 'outbox' }),
    maxPerLane: config.bot.outboxPerLane,
    onDrop: ({ network, priority }) => metrics.outboxDropped.inc({ network, priority }),
    ...(options.sendRetryMs ? { retryBaseMs: options.sendRetryMs } : {}),
  });
  const notifier = new Notifier({
    redis,
    redisUrl,
    keys,
    queues,
    adapters,
    outbox,
    getJob: jobs.get,
    instanceId: options.instanceId,
    log,
    ...(options.statusLeaseMs ? { leaseMs: options.statusLeaseMs } : {}),
    ...(options.settledKept ? { settledKept: options.settledKept } : {}),
    details: (view) => jobDetails(view, jobs, catalogReader),
    ...(config.web.publicUrl ? { jobUrl: (jobId: string) => `${config.web.publicUrl}/jobs/${jobId}` } : {}),
  });
  await notifier.start();
  const subscriptions = new SubscriptionStore(redis, keys);
  const announcer = new LifecycleAnnouncer({
    redis,
    redisUrl,
    keys,
    subscriptions,
    adapters,
    outbox,
    instanceId: options.instanceId,
    log,
  });
  await announcer.start();
  const schedules = await startScheduleRunner({
    config,
    connection: redis,
    redisUrl,
    jobs,
    instanceId: options.instanceId,
    log,
    ...(options.schedulePollMs ? { pollMs: options.schedulePollMs } : {}),
  }).catch(async (error: unknown) => {
    // A scheduler Redis refused: undo what started, so nothing keeps the process alive.
    await announcer.stop();
    await notifier.close();
    await queues.close();
    redis.disconnect();
    throw error;
  });
  const now = options.now ?? Date.now;
  const journal = options.auditDir
    ? new AuditJournal(options.auditDir, `bot-${options.instanceId}`, (error) =>
        log.error({ err: error }, 'could not write the audit journal'),
      )
    : undefined;
  const audit = new AuditTrail(redis, keys, { key: config.audit.key, now, journal });
  const oncall = new OnCallDesk(redis, keys, config, now);
  // Replies and approval requests: owed to a person, they go before progress edits. A message with
  // an approval request's buttons is noted, to be edited to the request's outcome once it is closed.
  const approvalMessages = new ApprovalMessages(redis, config.redis.prefix);
  const send = async (target: ChatTarget, reply: Reply) => {
    if (!adapters.has(target.network))
      throw new VmopsError('internal_error', `no adapter for network ${target.network}`);
    const ref = await outbox.send(target, reply, { priority: 'reply' });
    const requestId = requestOfReply(reply);
    if (requestId) await approvalMessages.record(requestId, ref);
    return ref;
  };
  const approvals = new ApprovalDesk({
    config,
    store: new ApprovalStore(redis, keys),
    oncall,
    audit,
    send,
    directTargets: (person) =>
      Object.entries(config.people[person]?.accounts ?? {}).flatMap(([network, account]) => {
        const adapter = adapters.get(network);
        return adapter ? [adapter.directTarget(account)] : [];
      }),
    execute: (request) => executeApproved(request, deps),
    closed: async (requestId, text) => {
      const refs = await approvalMessages.take(requestId);
      // Edits that do not wait for each other; each one's failure is the outbox's to log.
      for (const ref of refs) {
        void outbox
          .edit(ref, { tone: 'info', text }, { priority: 'reply' })
          .catch((error: unknown) =>
            log.warn({ err: error, requestId }, 'could not close an approval message'),
          );
      }
    },
    log: log.child({ part: 'approvals' }),
    now,
    ...(options.approvalSweepMs ? { sweepMs: options.approvalSweepMs } : {}),
  });
  const sessions = new WebSessions(redis, keys, {
    loginTtlMs: config.web.loginTtl,
    sessionTtlMs: config.web.sessionTtl,
    publicUrl: config.web.publicUrl,
    now,
  });
  const away = new AwayNotices({
    redis,
    prefix: config.redis.prefix,
    commandOf: (message) => commandText(message, config.bot.name) ?? message.text,
    reply: send,
    log: log.child({ part: 'away-notices' }),
  });
  const deps: PipelineDeps = {
    config,
    registry,
    vocabulary: vocabularyFromConfig(config),
    identities: identitiesFromConfig(config.people),
    throttle: redisThrottle(
      redis,
      config.redis.prefix,
      {
        commands: config.bot.throttle.commands,
        perMs: config.bot.throttle.per,
      },
      // The terminal is the one person at the keyboard of local mode: a piped script of many lines is
      // not a flood, and dropping its commands silently would break it.
      ['shell'],
    ),
    ingress: { redis, keys, maxAgeMs: config.bot.maxMessageAge, instanceId: options.instanceId },
    away,
    firstHiddenSender: (target) => firstHiddenSender(target, { redis, prefix: config.redis.prefix }),
    jobs,
    catalog: catalogReader,
    liveWorkers: () => liveAgents(redis, keys),
    subscriptions,
    approvals,
    oncall,
    audit,
    reply: send,
    announce: (jobId, target) => notifier.announce(jobId, target),
    reserveInScript: (jobId, target, data) => {
      const { step, reservation } = notifier.reservationStep(jobId, target, data);
      return {
        step,
        reserved: (reserved) => notifier.announceReserved(jobId, reservation, reserved),
        dropped: () => notifier.reservationDropped(jobId),
      };
    },
    logins: sessions,
    observe: (outcome, command) => metrics.commands.inc({ outcome, command }),
    log,
  };
  const detachMetrics = attachBotMetrics(metrics, { queues, redis, keys, adapters });
  const health = botHealth({ redis, adapters });
  approvals.start();
  const checkpointConfig = config.audit.checkpoint;
  const checkpoints = checkpointConfig
    ? startCheckpoints({
        redis,
        keys,
        key: checkpointConfig.key,
        every: checkpointConfig.every,
        head: () => audit.head(),
        post: async (text) => {
          for (const room of checkpointConfig.rooms) {
            await send({ ...room, isDirect: false }, { tone: 'info', text }).catch((error: unknown) =>
              log.warn({ err: error, network: room.network }, 'could not post the audit checkpoint'),
            );
          }
        },
        log: log.child({ part: 'audit' }),
        now,
      })
    : undefined;
  // What the intake takes in is handled without waiting on any send: replies and status messages are
  // handed to the outbox (which keeps each room's order) and the next command goes on at once.
  const detach =
    <A extends unknown[]>(what: string, fn: (...args: A) => Promise<unknown>) =>
    async (...args: A): Promise<void> => {
      void fn(...args).catch((error: unknown) => log.warn({ err: error }, `${what} failed`));
    };
  const intakeDeps: PipelineDeps = {
    ...deps,
    reply: detach('reply', deps.reply),
    announce: detach('status message', deps.announce),
  };
  const intake = new Intake({
    redis,
    prefix: config.redis.prefix,
    ingress: deps.ingress,
    botName: config.bot.name,
    instanceId: options.instanceId,
    away,
    log: log.child({ part: 'intake' }),
    handle: async (message, admission) => {
      const handled = await handleMessage(message, intakeDeps, admission);
      options.onHandled?.(message, handled);
      return handled;
    },
    ...(options.intake?.heartbeatMs ? { heartbeatMs: options.intake.heartbeatMs } : {}),
    ...(options.intake?.reclaimIdleMs ? { reclaimIdleMs: options.intake.reclaimIdleMs } : {}),
  });
  await intake.start();
  return {
    handle: (message) => handleMessage(message, deps),
    take: (message) => intake.take(message),
    intake,
    notifier,
    outbox,
    jobs,
    schedules,
    approvals,
    audit,
    checkpoints,
    redisWarnings,
    catalog: catalogReader,
    liveWorkers: () => liveAgents(redis, keys),
    sessions,
    metrics,
    health,
    async close() {
      checkpoints?.stop();
      await intake.stop();
      await away.close();
      detachMetrics();
      await approvals.stop();
      await schedules.close();
      await announcer.stop();
      await notifier.close();
      await outbox.stop(options.outboxDrainMs ?? 3000);
      await queues.close();
      await journal?.close();
      redis.disconnect();
    },
  };
}
