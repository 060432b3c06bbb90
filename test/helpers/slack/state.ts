// What the local Slack holds and the parts of it share: who the bot is, the messages the bot posted,
// the calls it made, the answers only one person saw, and the counters of rate-limited calls. Every
// change is announced (`change`), so tests wait on events, never on time.
import { EventEmitter } from 'node:events';
import type { ApiCall, EphemeralMessage, FakeMessage, FakeSlackOptions } from './types.ts';

export class SlackState extends EventEmitter<{ change: [] }> {
  readonly botToken: string;
  readonly appToken: string;
  readonly teamId: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly calls: ApiCall[] = [];
  readonly messages: FakeMessage[] = [];
  /** Messages only one person saw. */
  readonly ephemerals: EphemeralMessage[] = [];
  /** 429 answers sent. */
  rateLimited = 0;
  /** Requests that came while a Retry-After given for their limit had not passed. */
  earlyRetries = 0;
  /** The port the server listens on, once started. */
  port = 0;
  #tsCounter = 0;
  #ids = 0;

  constructor(options: FakeSlackOptions) {
    super();
    this.setMaxListeners(100);
    this.botToken = options.botToken ?? 'xoxb-fake-bot-token';
    this.appToken = options.appToken ?? 'xapp-fake-app-token';
    this.teamId = options.teamId ?? 'T0VMOPS';
    this.botUserId = options.botUserId ?? 'U0VMOPSBOT';
    this.botId = options.botId ?? 'B0VMOPSBOT';
  }

  /** http://127.0.0.1:<port> */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  changed(): void {
    this.emit('change');
  }

  /** A fresh number for ids (events, files, triggers). */
  nextId(): number {
    this.#ids += 1;
    return this.#ids;
  }

  /** A fresh message timestamp, as Slack writes them. */
  ts(): string {
    this.#tsCounter += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.#tsCounter).padStart(6, '0')}`;
  }

  /** The direct-message channel between the bot and a user. */
  dmChannel(user: string): string {
    return `D${user.replace(/^[UW]/, '')}`;
  }
}
