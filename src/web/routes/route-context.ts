// What every route module of the console is given: the app to register on, the options the console was
// started with, and the guard (guard.ts) that every page goes through.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../../../config/schema.ts';
import type { ConsoleCore } from '../console-context.ts';
import type { Guard } from '../guard.ts';
import type { WebAdapter } from '../web-adapter.ts';

export interface RouteContext {
  app: FastifyInstance;
  config: Config;
  core: ConsoleCore;
  /** The `web` adapter: page actions run through it as the person's direct messages. */
  adapter: WebAdapter;
  log: Logger;
  now: () => number;
  guard: Guard;
}
