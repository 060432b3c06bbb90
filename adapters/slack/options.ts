// What the Slack adapter is built with (src/app/network-adapters.ts fills it from networks.slack).
import type { Logger } from 'pino';

/** A Slack rate limit: a sustained rate and a burst. */
export interface Pace {
  perSecond: number;
  burst: number;
}

export interface SlackAdapterOptions {
  /** Bot token (xoxb-…). */
  token: string;
  /** `socket`: Socket Mode (needs appToken); `http`: the Events API on an HTTP endpoint (needs signingSecret). */
  mode: 'socket' | 'http';
  /** App-level token (xapp-…) with connections:write, for Socket Mode. */
  appToken?: string;
  /** The app's signing secret, for HTTP mode. */
  signingSecret?: string;
  /** HTTP mode: where the endpoint listens, and its path (events, commands and interactivity alike). */
  http?: { port: number; host: string; path: string };
  /** The slash command, e.g. `/vmops`. */
  command: string;
  /** Web API base URL (default https://slack.com/api/). */
  apiUrl?: string;
  minEditIntervalMs: number;
  maxMessageLength: number;
  /** chat.postMessage per channel. */
  postPace: Pace;
  /** chat.update for the whole workspace. */
  updatePace: Pace;
  /** Say the network has threads, so the notifier posts a finished job's details in its card's thread. */
  threadDetails: boolean;
  /** Replies longer than this (characters) are posted short with the whole text as a file; 0: never. */
  uploadOver: number;
  log: Logger;
  /** Socket Mode: how long a pong may take, and the wait before a reconnect (ms; default 5000). */
  clientPingTimeoutMs?: number;
  /** Socket Mode: how long without a ping from Slack before reconnecting (ms; default 30000). */
  serverPingTimeoutMs?: number;
  /** One Web API request's timeout (ms; default 15000). */
  requestTimeoutMs?: number;
  now?: () => number;
}
