// Test helpers for XMPP: a person's real XMPP client that records what it receives, and the bot (XMPP
// adapter, bot core, stage workers) on a Prosody from test/helpers/prosody.ts, optionally with more
// adapters (the terminal) for tests that span networks.
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, client, type Element, xml } from '@xmpp/client';
import pino, { type Logger } from 'pino';
import { XmppAdapter, type XmppAdapterOptions } from '../../adapters/xmpp/adapter.ts';
import { streamManagementSettled, watchStreamManagementOffer } from '../../adapters/xmpp/session.ts';
import type { Config, StepConfig } from '../../config/schema.ts';
import { type BotCore, startBotCore } from '../../src/app/bot-core.ts';
import { repoRoot } from '../../src/app/config-load.ts';
import type { HandledMessage } from '../../src/pipeline/handle-message.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import type { ChatAdapter, IncomingMessage } from '../../src/types.ts';
import { type StageWorkers, startStageWorkers } from '../../src/worker/stage-worker.ts';
import { testConfig } from './engine.ts';
import type { Prosody } from './prosody.ts';
import { cleanPrefix, redisUrl } from './redis.ts';

export const PASSWORD = 'secret-pw';
export const NS_MUC = 'http://jabber.org/protocol/muc';
export const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
export const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
export const NS_CORRECT = 'urn:xmpp:message-correct:0';
export const NS_DELAY = 'urn:xmpp:delay';
export const log = pino({ level: process.env.VMOPS_TEST_LOG ?? 'silent' });

let roomCounter = 0;
export const newRoom = (service: string) => `room${process.pid}x${++roomCounter}@${service}`;

/** Resolves with the first item (already there or still to come) that matches, or rejects after a while. */
export function waitIn<T>(
  items: T[],
  emitter: EventEmitter,
  predicate: (item: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = items.find(predicate);
      if (found === undefined) return;
      emitter.off('change', check);
      clearTimeout(timer);
      resolve(found);
    };
    const timer = setTimeout(() => {
      emitter.off('change', check);
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    emitter.on('change', check);
    check();
  });
}

/** A person's XMPP client, recording every stanza it receives. */
export class Person {
  readonly name: string;
  readonly xmpp: Client;
  readonly stanzas: Element[] = [];
  readonly #changes = new EventEmitter();
  readonly #smOffered: () => boolean;

  constructor(prosody: Prosody, name: string) {
    this.name = name;
    this.xmpp = client({
      service: prosody.service,
      domain: prosody.domain,
      username: name,
      password: PASSWORD,
    });
    this.xmpp.reconnect.stop();
    this.#smOffered = watchStreamManagementOffer(this.xmpp);
    this.xmpp.on('error', () => undefined);
    this.xmpp.on('stanza', (stanza) => {
      this.stanzas.push(stanza);
      this.#changes.emit('change');
    });
  }

  static async online(prosody: Prosody, name: string): Promise<Person> {
    const person = new Person(prosody, name);
    await person.xmpp.start();
    await streamManagementSettled(person.xmpp, person.#smOffered());
    await person.xmpp.send(xml('presence'));
    return person;
  }

  waitFor(predicate: (stanza: Element) => boolean, what: string, timeoutMs?: number): Promise<Element> {
    return waitIn(this.stanzas, this.#changes, predicate, `${what} (${this.name})`, timeoutMs);
  }

  /** Joins a room and waits for its own presence there. */
  async join(room: string, nick: string, history: 'none' | 'all' = 'none'): Promise<void> {
    await this.xmpp.send(
      xml(
        'presence',
        { to: `${room}/${nick}` },
        xml('x', { xmlns: NS_MUC }, history === 'none' ? xml('history', { maxstanzas: '0' }) : undefined),
      ),
    );
    await this.waitFor(
      (s) =>
        s.name === 'presence' &&
        s.attrs.from === `${room}/${nick}` &&
        s
          .getChild('x', NS_MUC_USER)
          ?.getChildren('status')
          .some((c) => c.attrs.code === '110') === true,
      `joining ${room}`,
    );
  }

  say(room: string, text: string, attrs: Record<string, string> = {}, ...extra: Element[]): Promise<void> {
    return this.xmpp.send(
      xml('message', { to: room, type: 'groupchat', ...attrs }, xml('body', {}, text), ...extra),
    );
  }

  chat(to: string, text: string, attrs: Record<string, string> = {}, ...extra: Element[]): Promise<void> {
    return this.xmpp.send(xml('message', { to, type: 'chat', ...attrs }, xml('body', {}, text), ...extra));
  }

  /** Messages from one sender (a room occupant JID or an account), in the order they came. */
  messagesFrom(from: (address: string) => boolean): Element[] {
    return this.stanzas.filter(
      (s) => s.name === 'message' && from(s.attrs.from ?? '') && s.getChildText('body') !== null,
    );
  }

  async stop(): Promise<void> {
    await this.xmpp.stop().catch(() => undefined);
  }
}

export const body = (s: Element) => s.getChildText('body') ?? '';
export const replaces = (s: Element) => s.getChild('replace', NS_CORRECT)?.attrs.id;
export const fromBot = (room: string) => (address: string) => address === `${room}/vmops`;

export interface Bot {
  adapter: XmppAdapter;
  core: BotCore;
  worker: StageWorkers;
  config: Config;
  handled: { message: IncomingMessage; result: HandledMessage }[];
  /** Resolves with the handling of the first message (so far or to come) that matches. */
  handledWhere(
    predicate: (message: IncomingMessage) => boolean,
    what: string,
  ): Promise<{ message: IncomingMessage; result: HandledMessage }>;
  stop(): Promise<void>;
}

export async function startBot(
  prosody: Prosody,
  options: {
    rooms: string[];
    buildSteps?: StepConfig[];
    waitForRooms?: boolean;
    /** More networks for the same bot core (started by the caller). */
    moreAdapters?: ChatAdapter[];
    /** Changes the test config before the bot starts. */
    edit?: (config: Config) => void;
    /** Adapter options the config does not set. */
    adapter?: Pick<XmppAdapterOptions, 'roomBusyWaitMs'>;
    /** Where the bot logs (default: nowhere, unless VMOPS_TEST_LOG). */
    log?: Logger;
  },
): Promise<Bot> {
  const botLog = options.log ?? log;
  const config = testConfig((c) => {
    for (const name of ['alice', 'bob', 'carol']) {
      const person = c.people[name];
      if (person) person.accounts.xmpp = `${name}@localhost`;
    }
    c.networks.xmpp = {
      jid: 'vmops@localhost',
      password: PASSWORD,
      service: prosody.service,
      rooms: options.rooms,
      corrections: true,
      minEditInterval: 50,
      selfPingInterval: 60_000,
      maxMessageLength: 10_000,
    };
    const build = c.products.cernvm?.stages.build;
    if (build && options.buildSteps) build.steps = options.buildSteps;
    options.edit?.(c);
  });
  const xmppConfig = config.networks.xmpp;
  if (!xmppConfig) throw new Error('no xmpp config');
  const adapter = new XmppAdapter({
    jid: xmppConfig.jid,
    password: xmppConfig.password,
    service: prosody.service,
    domain: prosody.domain,
    nick: 'vmops',
    botName: config.bot.name,
    rooms: xmppConfig.rooms,
    corrections: xmppConfig.corrections,
    minEditIntervalMs: xmppConfig.minEditInterval,
    maxMessageLength: xmppConfig.maxMessageLength,
    selfPingIntervalMs: xmppConfig.selfPingInterval,
    log: botLog,
    backoff: { baseMs: 200, maxMs: 1000 },
    ...options.adapter,
  });
  const url = redisUrl();
  const dataDir = mkdtempSync(join(tmpdir(), 'vmops-xmpp-data-'));
  const handled: Bot['handled'] = [];
  const changes = new EventEmitter();
  // As src/app/run-bot.ts wires it: the adapter hands each message to the durable intake, which runs the pipeline.
  const core = await startBotCore({
    config,
    redisUrl: url,
    adapters: new Map<string, ChatAdapter>([
      [adapter.network, adapter],
      ...(options.moreAdapters ?? []).map((a) => [a.network, a] as const),
    ]),
    log: botLog,
    instanceId: `xmpp-test-${process.pid}`,
    sendRetryMs: 5,
    onHandled: (message, result) => {
      handled.push({ message, result });
      changes.emit('change');
    },
  });
  const worker = await startStageWorkers({
    config,
    redisUrl: url,
    keys: redisKeys(config.redis.prefix),
    log: botLog,
    repoRoot,
    dataDir,
    name: 'xmpp-test-worker',
  });
  const joined = Promise.all(
    options.rooms.map((room) =>
      (async () => {
        for (;;) {
          const [which] = (await once(adapter, 'joined')) as [string];
          if (which === room) return;
        }
      })(),
    ),
  );
  await adapter.start(async (message) => {
    await core.take(message);
  });
  if (options.waitForRooms !== false) await joined;
  return {
    adapter,
    core,
    worker,
    config,
    handled,
    handledWhere: (predicate, what) => waitIn(handled, changes, (h) => predicate(h.message), what),
    async stop() {
      await adapter.stop();
      await worker.close({ cancelRunning: true });
      await core.close();
      await cleanPrefix(config.redis.prefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
