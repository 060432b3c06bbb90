// What the Matrix adapter is built with (src/app/network-adapters.ts fills it from networks.matrix).
import type { Logger } from 'pino';
import type { RedisTarget } from '../../src/redis/connect.ts';

export interface MatrixAdapterOptions {
  /** Base URL of the homeserver's client-server API: https://matrix.example.org. */
  homeserverUrl: string;
  /** The bot's user id: @vmops:example.org. */
  userId: string;
  /** Access token of the bot's device; or give `password`. */
  accessToken?: string;
  /** Password: the bot logs in once, and keeps its access token and device id in Redis. */
  password?: string;
  /** Device id to log in as (password) or of the access token. */
  deviceId?: string;
  /** The name the pipeline answers to (`config.bot.name`). */
  botName: string;
  /** Room ids or aliases to join at start. */
  rooms: readonly string[];
  /** User ids whose invites are accepted (the people in config). */
  inviters: readonly string[];
  /** Rooms (ids or aliases) whose invites are accepted from anyone. */
  inviteRooms: readonly string[];
  minEditIntervalMs: number;
  maxMessageLength: number;
  /** The homeserver's message rate limit for the bot's account (Synapse default 0.2/s, burst 10). */
  rateLimit: { perSecond: number; burst: number };
  /** Redis for the sync position, the session and notices, under `prefix`. */
  redisUrl: RedisTarget;
  prefix: string;
  log: Logger;
  /** How long the homeserver may hold a /sync open (ms; default 30 s). */
  pollTimeoutMs?: number;
  /** How long start() waits for the first sync before carrying on in the background (ms; default 30 s). */
  startTimeoutMs?: number;
  now?: () => number;
}
