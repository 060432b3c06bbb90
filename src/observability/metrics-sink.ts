// What the bot counts into, as the bot core sees it: VmopsMetrics (prom-client, metrics.ts) when the
// web console serves /metrics, else `noMetrics`, which counts nothing and loads nothing (prom-client
// and what it pulls in are about eighty modules a start would load for no one to read).
import type { MetricSources } from './metrics.ts';

type Labels = Record<string, string>;

export interface MetricsSink {
  /** Commands handled, by outcome and command. */
  commands: { inc(labels: Labels): void };
  /** How long a send or edit took; `startTimer` returns the function that ends the timing. */
  chatSend: { startTimer(labels: Labels): () => unknown };
  /** Sends and edits that failed. */
  chatErrors: { inc(labels: Labels): void };
  /** Seconds a network told vmops to wait. */
  rateLimitWait: { inc(labels: Labels, value: number): void };
  /** Messages the outbox dropped because their lane was full. */
  outboxDropped: { inc(labels: Labels): void };
  /** Where the scrape-time gauges read from; returns a function that detaches them. */
  attach(sources: MetricSources): () => void;
  /** The exposition text of every metric (/metrics). */
  text(): Promise<string>;
  readonly contentType: string;
}

const ignore = () => undefined;

/** Counts nothing: the sink of a bot without a web console (nothing serves /metrics). */
export const noMetrics: MetricsSink = {
  commands: { inc: ignore },
  chatSend: { startTimer: () => ignore },
  chatErrors: { inc: ignore },
  rateLimitWait: { inc: ignore },
  outboxDropped: { inc: ignore },
  attach: () => ignore,
  text: async () => '',
  contentType: 'text/plain; version=0.0.4; charset=utf-8',
};
