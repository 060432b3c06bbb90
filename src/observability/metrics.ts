// Prometheus metrics of one bot process, in one prom-client Registry that is passed to what counts
// (never prom-client's global default registry). Counters and histograms are updated as things happen
// (commands, chat sends); job, queue, worker and network gauges are read on each scrape, from Redis
// (BullMQ job counts, worker heartbeats) and from the adapters, so several bot instances report the
// same queue figures and nothing is kept in memory between scrapes.
import { withTimeout } from 'es-toolkit/promise/withTimeout';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AgentInfo } from '../queue/agent-presence.ts';

/** Where the scrape-time gauges read from (bot-core.ts provides it). */
export interface MetricSources {
  /** BullMQ job counts by state, per stage queue. */
  jobCounts(): Promise<{ queue: string; stage: string; counts: Record<string, number> }[]>;
  /** Workers whose heartbeat is alive. */
  workers(): Promise<AgentInfo[]>;
  /** Each chat network and whether its adapter is connected. */
  networks(): { network: string; up: boolean }[];
  /** Whether the bot's Redis connection is ready. */
  redisUp(): boolean;
  now?(): number;
}

export interface MetricsOptions {
  /** Add prom-client's process metrics (CPU, memory, event loop lag): the bot process, not tests. */
  processMetrics?: boolean;
  /** How long a scrape waits for Redis before it reports the Redis figures as missing (ms; default 2000). */
  scrapeTimeoutMs?: number;
}

/** The job states reported, as BullMQ names them. */
const JOB_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'paused'] as const;

/** The scrape-time sources read from Redis; gauges reading the same one share one read per scrape. */
type RedisSource = 'jobCounts' | 'workers';

export class VmopsMetrics {
  readonly registry = new Registry();
  /** Commands handled, by how they ended and which command (`unknown` when the word was none). */
  readonly commands: Counter<'outcome' | 'command'>;
  /** How long a send or edit took on a network, including the adapter's own pacing. */
  readonly chatSend: Histogram<'network' | 'op'>;
  /** Sends and edits that failed. */
  readonly chatErrors: Counter<'network' | 'op'>;
  /** Seconds a network told vmops to wait (429 retry-after). */
  readonly rateLimitWait: Counter<'network'>;
  /** Messages the outbox dropped because their lane was full (a network away for long, a flood). */
  readonly outboxDropped: Counter<'network' | 'priority'>;
  #sources: MetricSources | undefined;
  readonly #timeoutMs: number;
  /** Reads under way, per source: prom-client collects every gauge at once, so one scrape reads each once. */
  readonly #inFlight = new Map<RedisSource, Promise<unknown>>();

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.#timeoutMs = options.scrapeTimeoutMs ?? 2000;
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
    this.commands = new Counter({
      name: 'vmops_commands_total',
      help: 'Chat commands handled, by outcome (done, refused, failed, throttled, ignored) and command',
      labelNames: ['outcome', 'command'],
      registers,
    });
    this.chatSend = new Histogram({
      name: 'vmops_chat_send_seconds',
      help: "Time a chat send or edit took, the adapter's pacing and queueing included",
      labelNames: ['network', 'op'],
      buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.chatErrors = new Counter({
      name: 'vmops_chat_send_errors_total',
      help: 'Chat sends and edits that failed',
      labelNames: ['network', 'op'],
      registers,
    });
    this.rateLimitWait = new Counter({
      name: 'vmops_chat_rate_limit_wait_seconds_total',
      help: 'Seconds a chat network told vmops to wait (rate limits, retry-after)',
      labelNames: ['network'],
      registers,
    });
    this.outboxDropped = new Counter({
      name: 'vmops_outbox_dropped_total',
      help: 'Messages the outbox dropped because their lane was full (oldest progress first), by network and priority (reply, progress)',
      labelNames: ['network', 'priority'],
      registers,
    });
    const metrics = this;
    new Gauge({
      name: 'vmops_jobs',
      help: 'Jobs in the stage queues, by stage and BullMQ state (completed and failed are capped by jobs.keepFinished)',
      labelNames: ['stage', 'state'],
      registers,
      async collect() {
        this.reset();
        const queues = await metrics.#read('jobCounts');
        if (!queues) return;
        const totals = new Map<string, number>();
        for (const { stage, counts } of queues) {
          for (const state of JOB_STATES) {
            const key = `${stage}\u0000${state}`;
            totals.set(key, (totals.get(key) ?? 0) + (counts[state] ?? 0));
          }
        }
        for (const [key, value] of totals) {
          const [stage = '', state = ''] = key.split('\u0000');
          this.set({ stage, state }, value);
        }
      },
    });
    new Gauge({
      name: 'vmops_queue_depth',
      help: 'Jobs waiting in a queue for a worker (waiting, prioritized and delayed)',
      labelNames: ['queue'],
      registers,
      async collect() {
        this.reset();
        const queues = await metrics.#read('jobCounts');
        for (const { queue, counts } of queues ?? []) {
          this.set({ queue }, (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0));
        }
      },
    });
    new Gauge({
      name: 'vmops_worker_heartbeat_age_seconds',
      help: "Seconds since a live worker's last heartbeat (a worker whose announcement expired is gone)",
      labelNames: ['worker'],
      registers,
      async collect() {
        this.reset();
        const workers = await metrics.#read('workers');
        const now = metrics.#sources?.now?.() ?? Date.now();
        for (const w of workers ?? []) this.set({ worker: w.name }, Math.max(0, (now - w.seenAt) / 1000));
      },
    });
    new Gauge({
      name: 'vmops_worker_running_jobs',
      help: 'Jobs a live worker runs now, as of its last heartbeat',
      labelNames: ['worker'],
      registers,
      async collect() {
        this.reset();
        const workers = await metrics.#read('workers');
        for (const w of workers ?? []) this.set({ worker: w.name }, w.running);
      },
    });
    new Gauge({
      name: 'vmops_up',
      help: "1 when a chat network's adapter is connected, else 0",
      labelNames: ['network'],
      registers,
      collect() {
        this.reset();
        for (const { network, up } of metrics.#sources?.networks() ?? []) this.set({ network }, up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'vmops_redis_up',
      help: "1 when the bot's Redis connection is ready, else 0",
      registers,
      collect() {
        if (metrics.#sources) this.set(metrics.#sources.redisUp() ? 1 : 0);
      },
    });
  }

  /** Where the scrape-time gauges read from; returns a function that detaches them. */
  attach(sources: MetricSources): () => void {
    this.#sources = sources;
    return () => {
      if (this.#sources === sources) this.#sources = undefined;
    };
  }

  /** The exposition text of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Reads from Redis for a scrape: nothing (the gauge stays empty) when Redis is away or slow. Gauges
   * collecting at the same time share the read under way; it is dropped once settled.
   */
  #read<K extends RedisSource>(source: K): Promise<Awaited<ReturnType<MetricSources[K]>> | undefined> {
    type Result = Awaited<ReturnType<MetricSources[K]>> | undefined;
    const pending = this.#inFlight.get(source);
    if (pending) return pending as Promise<Result>;
    const sources = this.#sources;
    if (!sources?.redisUp()) return Promise.resolve(undefined);
    const read = withTimeout(() => sources[source]() as Promise<Result>, this.#timeoutMs)
      .catch((): Result => undefined)
      .finally(() => {
        if (this.#inFlight.get(source) === read) this.#inFlight.delete(source);
      });
    this.#inFlight.set(source, read);
    return read;
  }
}
