// Chaos: two bot instances on the same XMPP account in the same room, on a real Prosody (failure-modes.md
// #1 and #8). Both receive every message of the room; each command is run and answered once, and when
// the instance that posted a job's status message goes away while the job runs, the other one corrects
// that same message to the final state. The FakeChat-fed variant (two cores, one event) is in
// scale-out.test.ts and slack.test.ts; the Prosody restart mid-job is in xmpp.test.ts.
//
// Protections, each of which makes a test fail when taken away:
// - the ingress claim on the event id (src/pipeline/ingress.ts, SET NX), which both instances compute
//   alike from the sender's stanza id (adapters/xmpp/stanzas.ts eventIdOf): without it both run `build`
//   (two jobs, two status messages) and both answer `jobs`;
// - the notifier's one-writer lease and its take-over (src/notifier/notifier.ts): without the lease both correct
//   the message; without the take-over the final state never arrives once its writer is gone;
// - the bot's own messages, reflected by the room to the other instance, are dropped as its own
//   (same nick, same JID): otherwise the instances would answer each other.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { XmppAdapter } from '../../adapters/xmpp/adapter.ts';
import type { Config } from '../../config/schema.ts';
import { type BotCore, startBotCore } from '../../src/app/bot-core.ts';
import { repoRoot } from '../../src/app/config-load.ts';
import type { HandledMessage } from '../../src/pipeline/handle-message.ts';
import { redisKeys } from '../../src/redis/keys.ts';
import type { IncomingMessage } from '../../src/types.ts';
import { type StageWorkers, startStageWorkers } from '../../src/worker/stage-worker.ts';
import { startsPerJob } from '../helpers/chaos.ts';
import { startEngine, testConfig } from '../helpers/engine.ts';
import { FakeChat, message } from '../helpers/fake-chat.ts';
import { type Prosody, startProsody } from '../helpers/prosody.ts';
import { cleanPrefix, redisUrl, testPrefix } from '../helpers/redis.ts';
import { until } from '../helpers/until.ts';
import { body, fromBot, log, newRoom, PASSWORD, Person, replaces, waitIn } from '../helpers/xmpp.ts';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Instance {
  core: BotCore;
  adapter: XmppAdapter;
  handled: { message: IncomingMessage; result: HandledMessage }[];
  changes: EventEmitter;
  /** Stops this instance's adapter and core (its process is gone), once. */
  stop(): Promise<void>;
}

/** One bot instance: the XMPP adapter as vmops@localhost (a resource of its own) and a bot core. */
async function instance(prosody: Prosody, config: Config, id: string, room: string): Promise<Instance> {
  const xmpp = config.networks.xmpp;
  if (!xmpp) throw new Error('no xmpp config');
  const adapter = new XmppAdapter({
    jid: xmpp.jid,
    password: xmpp.password,
    service: prosody.service,
    domain: prosody.domain,
    nick: 'vmops',
    botName: config.bot.name,
    rooms: xmpp.rooms,
    corrections: true,
    minEditIntervalMs: xmpp.minEditInterval,
    maxMessageLength: xmpp.maxMessageLength,
    selfPingIntervalMs: xmpp.selfPingInterval,
    log,
    backoff: { baseMs: 200, maxMs: 1000 },
  });
  const core = await startBotCore({
    config,
    redisUrl: redisUrl(),
    adapters: new Map([[adapter.network, adapter]]),
    log,
    instanceId: id,
    sendRetryMs: 5,
    statusLeaseMs: 600,
  });
  const handled: Instance['handled'] = [];
  const changes = new EventEmitter();
  const joined = new Promise<void>((resolve) => {
    const onJoined = (which: string) => {
      if (which !== room) return;
      adapter.off('joined', onJoined);
      resolve();
    };
    adapter.on('joined', onJoined);
  });
  await adapter.start(async (message) => {
    const result = await core.handle(message);
    handled.push({ message, result });
    changes.emit('change');
  });
  await joined;
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      await adapter.stop();
      await core.close();
    })();
    return stopped;
  };
  cleanups.push(stop);
  return { core, adapter, handled, changes, stop };
}

describe('two bot instances on one XMPP account in one room', () => {
  let prosody: Prosody;
  let gateDir: string;
  beforeAll(async () => {
    prosody = await startProsody();
    for (const name of ['vmops', 'alice']) prosody.register(name, PASSWORD);
    gateDir = mkdtempSync(join(tmpdir(), 'vmops-two-bots-'));
  });
  afterAll(async () => {
    await prosody?.stop();
    rmSync(gateDir, { recursive: true, force: true });
  });

  it('runs and answers each command once, and the survivor finishes the status message of the one that left', async () => {
    const room = newRoom(prosody.muc);
    const gate = join(gateDir, 'open');
    const prefix = testPrefix();
    cleanups.push(() => cleanPrefix(prefix));
    const config = testConfig((c) => {
      c.redis.prefix = prefix;
      const alice = c.people.alice;
      if (alice) alice.accounts.xmpp = 'alice@localhost';
      c.networks.xmpp = {
        jid: 'vmops@localhost',
        password: PASSWORD,
        service: prosody.service,
        rooms: [room],
        corrections: true,
        minEditInterval: 50,
        selfPingInterval: 60_000,
        maxMessageLength: 10_000,
      };
      const build = c.products.cernvm?.stages.build;
      if (build) {
        build.steps = [
          {
            name: 'gate',
            run: ['/bin/sh', '-c', 'while [ ! -e "$GATE" ]; do sleep 0.05; done'],
            env: { GATE: gate },
          },
        ];
      }
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'vmops-two-bots-data-'));
    const worker: StageWorkers = await startStageWorkers({
      config,
      redisUrl: redisUrl(),
      keys: redisKeys(prefix),
      log,
      repoRoot,
      dataDir,
      name: 'two-bots-worker',
    });
    cleanups.push(async () => {
      await worker.close({ cancelRunning: true });
      rmSync(dataDir, { recursive: true, force: true });
    });
    const alice = await Person.online(prosody, 'alice');
    cleanups.push(() => alice.stop());
    await alice.join(room, 'Alice');
    const bots = [
      await instance(prosody, config, 'bot-a', room),
      await instance(prosody, config, 'bot-b', room),
    ];
    /** Waits until both instances have handled (or dropped) the message with this text. */
    const handledByBoth = (text: string) =>
      Promise.all(
        bots.map((b) =>
          waitIn(b.handled, b.changes, (h) => h.message.text === text, `"${text}" handled by an instance`),
        ),
      );
    const fromVmops = () => alice.messagesFrom(fromBot(room));

    await alice.say(room, 'vmops: build 2.6 kvm');
    const build = await handledByBoth('build 2.6 kvm');
    expect(build.map((h) => h.result.outcome).sort()).toEqual(['done', 'ignored']);
    const [job = ''] = build.flatMap((h) => h.result.jobs);
    const first = await alice.waitFor(
      (s) => fromBot(room)(s.attrs.from ?? '') && body(s).includes(`job ${job}`) && !replaces(s),
      'the status message',
    );
    await alice.waitFor((s) => replaces(s) === first.attrs.id && /gate/.test(body(s)), 'the running state');

    await alice.say(room, 'vmops: jobs');
    const jobs = await handledByBoth('jobs');
    expect(jobs.map((h) => h.result.outcome).sort()).toEqual(['done', 'ignored']);
    await alice.waitFor((s) => /^Recent jobs/.test(body(s)), 'the answer to jobs');

    // The instance that ran the build (and posted its status message) goes away; the job then ends.
    const writer = bots[build.findIndex((h) => h.result.outcome === 'done')];
    const survivor = bots.find((b) => b !== writer);
    if (!writer || !survivor) throw new Error('no instance ran the build');
    await writer.stop();
    writeFileSync(gate, '');
    await alice.waitFor(
      (s) => replaces(s) === first.attrs.id && /^✅ build cernvm 2\.6 kvm/.test(body(s)),
      'the final state, from the survivor',
      15_000,
    );
    // A last command to the survivor: everything it sent before its answer has arrived by then.
    await alice.say(room, 'vmops: whoami');
    await waitIn(survivor.handled, survivor.changes, (h) => h.message.text === 'whoami', 'whoami');
    await alice.waitFor((s) => /^You are alice/.test(body(s)), 'the answer to whoami');

    const originals = fromVmops().filter((s) => !replaces(s));
    expect(originals.map(body)).toEqual([
      expect.stringContaining(`job ${job}`),
      expect.stringMatching(/^Recent jobs/),
      expect.stringMatching(/^You are alice/),
    ]);
    const finals = fromVmops().filter((s) => /^✅/.test(body(s)));
    expect(finals).toHaveLength(1);
    expect(await startsPerJob(survivor.core.audit)).toEqual(new Map([[job, 1]]));
    const commands = (await survivor.core.audit.recent(50)).filter((e) => e.kind === 'command');
    expect(commands).toHaveLength(3);
    await until(() => survivor.core.outbox.pending === 0, { what: 'the outbox to empty' });
  }, 90_000);
});

describe('two bot instances over one FakeChat', () => {
  it('the survivor delivers the final state when the writer leaves just before the job ends', async () => {
    // The job's last queue event comes while the departed writer's lease still holds; the survivor must
    // look again once it lapses (src/notifier/notifier.ts #adopt), or the room never sees the end of the job.
    const gate = join(mkdtempSync(join(tmpdir(), 'vmops-two-bots-gate-')), 'open');
    cleanups.push(() => rmSync(join(gate, '..'), { recursive: true, force: true }));
    const config = testConfig((c) => {
      const build = c.products.cernvm?.stages.build;
      if (build) {
        build.steps = [
          {
            name: 'gate',
            run: ['/bin/sh', '-c', 'while [ ! -e "$GATE" ]; do sleep 0.05; done'],
            env: { GATE: gate },
          },
        ];
      }
    });
    const shared = new FakeChat();
    const engine = await startEngine({ config, chat: shared, statusLeaseMs: 600 });
    cleanups.push(() => engine.stop());
    const other = await engine.addBot(shared);
    const { jobs } = await engine.core.handle(message('build 2.6 kvm'));
    const [job = ''] = jobs;
    await shared.waitFor(
      (m) => m.versions[0]?.status?.jobId === job && /gate/.test(m.versions.at(-1)?.text ?? ''),
    );
    await engine.core.close(); // the writer's process is gone
    writeFileSync(gate, '');
    const status = await shared.waitFor((m) => /^✅/.test(m.versions.at(-1)?.text ?? ''), 10_000);
    expect(status.versions.at(-1)?.text).toMatch(/^✅ build cernvm 2\.6 kvm/);
    expect(shared.sent).toHaveLength(1);
    await other.core.notifier.whenSettled(jobs);
  });
});
