// What the web console is started with and what it hands back; the route modules (routes/) and the
// guard (guard.ts) read the same options, so they live here, apart from the server that composes them.
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { BotCore } from '../app/bot-core.ts';
import type { WebAdapter } from './web-adapter.ts';

export interface WebConsoleOptions {
  config: Config;
  core: Pick<
    BotCore,
    | 'handle'
    | 'jobs'
    | 'catalog'
    | 'approvals'
    | 'audit'
    | 'liveWorkers'
    | 'sessions'
    | 'notifier'
    | 'metrics'
    | 'health'
  >;
  /** The `web` adapter the bot core was started with (it collects the replies to page actions). */
  adapter: WebAdapter;
  /** Where the download area is: <dataDir>/downloads. */
  dataDir: string;
  log: Logger;
  host: string;
  /** 0: any free port. */
  port: number;
  now?: () => number;
}

export interface WebConsole {
  /** Where it listens, e.g. http://127.0.0.1:8080. */
  url: string;
  close(): Promise<void>;
}

/** The parts of the bot core the console reads. */
export type ConsoleCore = WebConsoleOptions['core'];
