// The engine with the web console in front of it, on loopback and a free port: the bot core gets the
// `web` adapter next to its FakeChat, and people get login links the way they would, by sending
// `login` to the bot in a direct message.
import pino from 'pino';
import { startWebConsole, type WebConsole } from '../../src/web/server.ts';
import { WebAdapter } from '../../src/web/web-adapter.ts';
import { type Engine, type EngineOptions, startEngine } from './engine.ts';
import { message } from './fake-chat.ts';

export interface WebEngine {
  engine: Engine;
  web: WebConsole;
  /** Asks the bot `login` in a direct message as `person` and returns the link it answered with. */
  loginLink(person: string): Promise<string>;
  /** Says `text` in the FakeChat room `room1` as `account`; resolves with the replies there. */
  say(text: string, account: string): Promise<{ jobs: string[]; reply: string }>;
  stop(): Promise<void>;
}

export async function startWebEngine(options: EngineOptions = {}): Promise<WebEngine> {
  const adapter = new WebAdapter();
  const engine = await startEngine({ ...options, moreChats: [...(options.moreChats ?? []), adapter] });
  const web = await startWebConsole({
    config: engine.config,
    core: engine.core,
    adapter,
    dataDir: engine.dataDir,
    log: pino({ level: 'silent' }),
    host: '127.0.0.1',
    port: 0,
    ...(options.now ? { now: options.now } : {}),
  });
  const repliesIn = async (text: string, account: string, room: string, isDirect: boolean) => {
    const before = engine.chat.sent.length;
    const handled = await engine.core.handle(
      message(text, { account, target: { network: 'fake', room, isDirect }, mentioned: true }),
    );
    const reply = engine.chat.sent
      .slice(before)
      .filter((m) => m.target.room === room && m.versions[0]?.status === undefined)
      .map((m) => m.versions.at(-1)?.text ?? '')
      .join('\n');
    return { jobs: handled.jobs, reply };
  };
  return {
    engine,
    web,
    async loginLink(person) {
      const { reply } = await repliesIn('login', person, `dm:${person}`, true);
      const link = /(https?:\/\/\S+\/login\/[A-Za-z0-9_-]+)/.exec(reply)?.[1];
      if (!link) throw new Error(`no login link in: ${reply}`);
      return link;
    },
    say: (text, account) => repliesIn(text, account, 'room1', false),
    async stop() {
      await web.close();
      await engine.stop();
    },
  };
}
