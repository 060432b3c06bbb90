// Room subscriptions, the lifecycle announcer and schedules, end to end against a real Redis.

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../../src/catalog/catalog.ts';
import { SendFailure } from '../../src/chat/send-failure.ts';
import { Outbox } from '../../src/outbox/outbox.ts';
import { SCHEDULE_QUEUE } from '../../src/queue/stage-queues.ts';
import { redisOptions } from '../../src/redis/connect.ts';
import { type RedisKeys, redisKeys } from '../../src/redis/keys.ts';
import { runScheduleTick, schedulePrincipal, type TickOutcome } from '../../src/schedules/schedule-tick.ts';
import { ANNOUNCER_GROUP, LifecycleAnnouncer } from '../../src/subscriptions/lifecycle-announcer.ts';
import { SubscriptionStore } from '../../src/subscriptions/subscription-store.ts';
import type { ChatTarget, MessageRef, Reply } from '../../src/types.ts';
import { type Engine, startEngine, testConfig } from '../helpers/engine.ts';
import { FakeChat, message } from '../helpers/fake-chat.ts';
import { cleanPrefix, redisUrl, testPrefix } from '../helpers/redis.ts';
import { until } from '../helpers/until.ts';

const silent = pino({ level: 'silent' });
const undo: (() => Promise<unknown> | unknown)[] = [];
let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
  for (const step of undo.splice(0).reverse()) await step();
});

const room = (name: string): ChatTarget => ({ network: 'fake', room: name, isDirect: false });
/** A command said in a room, addressed to the bot. */
const inRoom = (text: string, name: string) => message(text, { target: room(name), mentioned: true });
const textsIn = (chat: FakeChat, name: string) =>
  chat.sent.filter((m) => m.target.room === name).map((m) => m.versions.at(-1)?.text ?? '');
const announcementsIn = (chat: FakeChat, name: string) =>
  textsIn(chat, name).filter((text) => !text.startsWith('This room'));

/** Resolves when `count` announcements have reached the room. */
async function heard(chat: FakeChat, name: string, count: number): Promise<string[]> {
  await chat.waitFor(() => announcementsIn(chat, name).length >= count);
  return announcementsIn(chat, name);
}

function openRedis(): Redis {
  const redis = new Redis(redisUrl());
  undo.push(() => redis.disconnect());
  return redis;
}

/** Entries read by the announcers and not yet acknowledged. */
async function pendingAnnouncements(redis: Redis, keys: RedisKeys): Promise<number> {
  const [count] = (await redis.xpending(keys.lifecycle, ANNOUNCER_GROUP)) as [number];
  return count;
}

describe('room subscriptions', () => {
  it('tell a room subscribed to built about each build that ends, and about nothing else', async () => {
    engine = await startEngine();
    await engine.core.handle(inRoom('subscribe built', 'ops'));
    await engine.core.handle(inRoom('subscribe', 'everything'));
    expect(textsIn(engine.chat, 'ops')).toEqual(['This room is now subscribed to: built.']);

    const build = await engine.core.handle(message('build 2.6 kvm'));
    expect(await heard(engine.chat, 'ops', 1)).toEqual([
      `📦 cernvm 2.6 kvm built · job ${build.jobs[0]} · by alice`,
    ]);
    // (The announcement comes as the job records its end; the image is free once the job has ended.)
    await engine.core.notifier.whenSettled(build.jobs);
    // The demo test step leaves no report, so the test fails: only the room subscribed to failed hears it.
    const test = await engine.core.handle(message('test 2.6 kvm'));
    expect(await heard(engine.chat, 'everything', 2)).toEqual([
      `📦 cernvm 2.6 kvm built · job ${build.jobs[0]} · by alice`,
      `❌ cernvm 2.6 kvm failed its tests · job ${test.jobs[0]} · by alice · tests: no report was left by the test steps`,
    ]);
    expect(announcementsIn(engine.chat, 'ops')).toHaveLength(1);
    // The room the build was asked in (a direct message) has its status messages only.
    expect(engine.chat.sent.filter((m) => m.target.room === 'room1')).toHaveLength(2);
  });

  it('stop when the room unsubscribes', async () => {
    engine = await startEngine();
    await engine.core.handle(inRoom('subscribe built failed', 'ops'));
    await engine.core.handle(inRoom('subscribe built', 'witness'));
    await engine.core.handle(inRoom('unsubscribe built', 'ops'));
    await engine.core.handle(inRoom('unsubscribe', 'nobody'));
    expect(textsIn(engine.chat, 'ops')).toEqual([
      'This room is now subscribed to: built, failed.',
      'This room is now subscribed to: failed.',
    ]);
    expect(textsIn(engine.chat, 'nobody')).toEqual([
      'This room is no longer subscribed to any image events (subscribe [event…] starts again).',
    ]);
    await engine.core.handle(message('build 2.6 kvm'));
    await heard(engine.chat, 'witness', 1);
    await engine.core.handle(inRoom('unsubscribe failed', 'ops'));
    await engine.core.handle(message('build 2.7 kvm'));
    await heard(engine.chat, 'witness', 2);
    expect(announcementsIn(engine.chat, 'ops')).toEqual([]);
  });

  it('announce each event once in total when two bot instances share Redis', async () => {
    engine = await startEngine();
    const second = await engine.addBot(engine.chat); // one chat network, two bots on it
    await second.core.handle(inRoom('subscribe built', 'ops'));
    const build = await engine.core.handle(message('build 2.6 kvm vbox xen'));
    await heard(engine.chat, 'ops', 3);
    const redis = openRedis();
    const keys = redisKeys(engine.config.redis.prefix);
    await until(async () => (await pendingAnnouncements(redis, keys)) === 0, {
      what: 'the announcers to acknowledge every lifecycle entry',
    });
    expect(announcementsIn(engine.chat, 'ops').sort()).toEqual(
      build.jobs
        .map((id, i) => `📦 cernvm 2.6 ${['kvm', 'virtualbox', 'xen'][i]} built · job ${id} · by alice`)
        .sort(),
    );
    const consumers = (await redis.xinfo('CONSUMERS', keys.lifecycle, ANNOUNCER_GROUP)) as unknown[];
    expect(consumers).toHaveLength(2);
  });
});

/** A chat whose first sends fail with an error the outbox may retry, as a network's passing failure. */
class FlakyChat extends FakeChat {
  failures: number;
  constructor(failures: number) {
    super();
    this.failures = failures;
  }
  override async send(target: ChatTarget, reply: Reply): Promise<MessageRef> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new SendFailure('service unavailable', { retryable: true, platformCode: 'http_503' });
    }
    return super.send(target, reply);
  }
}

describe('lifecycle announcer', () => {
  const event: LifecycleEvent = {
    event: 'built',
    product: 'cernvm',
    version: '2.6',
    format: 'kvm',
    stage: 'build',
    job: 'abcd2345',
    by: 'alice',
    at: 1,
  };

  async function setUp(chat: FakeChat) {
    const prefix = testPrefix();
    undo.push(() => cleanPrefix(prefix));
    const keys = redisKeys(prefix);
    const redis = openRedis();
    const subscriptions = new SubscriptionStore(redis, keys);
    const start = async () => {
      const outbox = new Outbox({
        adapters: new Map([[chat.network, chat]]),
        redis,
        prefix: `${prefix}:`,
        instanceId: 'alive',
        log: silent,
        retryBaseMs: 5,
      });
      const announcer = new LifecycleAnnouncer({
        redis,
        redisUrl: redisUrl(),
        keys,
        subscriptions,
        adapters: new Map([[chat.network, chat]]),
        outbox,
        instanceId: 'alive',
        log: silent,
        blockMs: 50,
        claimIdleMs: 200,
      });
      await announcer.start();
      undo.push(() => outbox.stop(0));
      undo.push(() => announcer.stop());
      return announcer;
    };
    return { keys, redis, subscriptions, start };
  }

  it('takes over what a dead instance read, skipping the rooms it had reached, and retries failed sends', async () => {
    const chat = new FlakyChat(2);
    const { keys, redis, subscriptions, start } = await setUp(chat);
    await subscriptions.subscribe(room('ops'), ['built']);
    await subscriptions.subscribe(room('reached'), ['built']);
    await redis.xgroup('CREATE', keys.lifecycle, ANNOUNCER_GROUP, '$', 'MKSTREAM');
    const entryId = String(await redis.xadd(keys.lifecycle, '*', 'event', JSON.stringify(event)));
    // An instance read the entry, told one room, and died.
    await redis.call('XREADGROUP', 'GROUP', ANNOUNCER_GROUP, 'dead', 'STREAMS', keys.lifecycle, '>');
    await redis.hset(keys.announced(entryId), 'fake:reached', '1');

    await start();
    await chat.waitFor((m) => m.target.room === 'ops');
    await until(async () => (await pendingAnnouncements(redis, keys)) === 0, {
      what: 'the announcers to acknowledge every lifecycle entry',
    });
    expect(chat.texts()).toEqual(['📦 cernvm 2.6 kvm built · job abcd2345 · by alice']);
    expect(chat.failures).toBe(0);
  });

  it('does not replay events from before the group existed, and gives up on a room it cannot reach', async () => {
    const chat = new FlakyChat(6); // every try the outbox makes for the first event fails
    const { keys, redis, subscriptions, start } = await setUp(chat);
    await subscriptions.subscribe(room('ops'), ['built', 'published']);
    await redis.xadd(keys.lifecycle, '*', 'event', JSON.stringify({ ...event, job: 'old' }));
    await start();
    await redis.xadd(keys.lifecycle, '*', 'event', JSON.stringify({ ...event, job: 'lost' }));
    await redis.xadd(keys.lifecycle, '*', 'event', 'not json');
    await redis.xadd(
      keys.lifecycle,
      '*',
      'event',
      JSON.stringify({ ...event, event: 'published', job: 'new' }),
    );
    await chat.waitFor((m) => m.target.room === 'ops');
    await until(async () => (await pendingAnnouncements(redis, keys)) === 0, {
      what: 'the announcers to acknowledge every lifecycle entry',
    });
    expect(chat.texts()).toEqual(['📣 cernvm 2.6 kvm published · job new · by alice']);
  });
});

describe('schedules', () => {
  const nightly = {
    cron: '0 3 * * *',
    product: 'cernvm',
    version: '2.6',
    formats: ['kvm', 'virtualbox'],
    stages: ['build', 'test'] as ('build' | 'test')[],
  };

  /** Fires a schedule now: the same scheduler on an interval, whose first tick is at once. */
  async function fireNow(queue: Queue, name: string): Promise<TickOutcome> {
    await queue.upsertJobScheduler(name, { every: 3_600_000 }, { name, data: { schedule: name } });
    const job = await until(async () => (await queue.getCompleted()).find((j) => j.data.schedule === name), {
      what: `a completed tick of ${name}`,
    });
    return job.returnvalue as TickOutcome;
  }

  it('keeps the schedulers in line with config, builds on a tick, tests what built, and rooms hear it', async () => {
    const config = testConfig((c) => {
      c.schedules = { nightly };
    });
    // A scheduler left by an earlier config, which no longer has that schedule.
    const old = new Queue(SCHEDULE_QUEUE, {
      connection: redisOptions(redisUrl()),
      prefix: config.redis.prefix,
    });
    await old.upsertJobScheduler(
      'weekly',
      { pattern: '0 4 * * 0' },
      { name: 'weekly', data: { schedule: 'weekly' } },
    );
    await old.close();
    engine = await startEngine({ config });
    const queue = engine.core.schedules.queue;
    expect((await queue.getJobSchedulers()).map((s) => [s.key, s.pattern])).toEqual([
      ['nightly', '0 3 * * *'],
    ]);

    await engine.core.handle(inRoom('subscribe built failed', 'ops'));
    const outcome = await fireNow(queue, 'nightly');
    expect(Object.keys(outcome.builds)).toEqual(['kvm', 'virtualbox']);
    expect(Object.keys(outcome.tests)).toEqual(['kvm', 'virtualbox']);
    expect((await heard(engine.chat, 'ops', 4)).sort()).toEqual(
      [
        `📦 cernvm 2.6 kvm built · job ${outcome.builds.kvm} · by schedule:nightly`,
        `📦 cernvm 2.6 virtualbox built · job ${outcome.builds.virtualbox} · by schedule:nightly`,
        `❌ cernvm 2.6 kvm failed its tests · job ${outcome.tests.kvm} · by schedule:nightly · tests: no report was left by the test steps`,
        `❌ cernvm 2.6 virtualbox failed its tests · job ${outcome.tests.virtualbox} · by schedule:nightly · tests: no report was left by the test steps`,
      ].sort(),
    );
    // Nothing is posted anywhere else: a schedule has no status messages.
    expect(engine.chat.sent.filter((m) => m.target.room !== 'ops')).toEqual([]);

    // The same tick run again (its bot died under it) queues nothing new.
    const [tick] = await queue.getCompleted();
    const before = (await engine.core.jobs.list(50)).map((j) => j.jobId).sort();
    const again = await runScheduleTick(
      {
        config,
        jobs: engine.core.jobs,
        log: silent,
        pollMs: 20,
        waitLimitMs: 10_000,
        signal: new AbortController().signal,
      },
      'nightly',
      tick?.id ?? '',
    );
    expect(again.builds).toEqual(outcome.builds);
    expect((await engine.core.jobs.list(50)).map((j) => j.jobId).sort()).toEqual(before);
  });

  it('hands a tick in progress to another bot instance when its bot stops', async () => {
    const config = testConfig((c) => {
      c.schedules = { nightly: { ...nightly, formats: ['kvm'], stages: ['build'] } };
      const build = c.products.cernvm?.stages.build;
      if (build) build.steps = [{ name: 'sleepy', run: ['test/fixtures/steps/sleep-forever.sh'] }];
    });
    engine = await startEngine({ config });
    await engine.core.schedules.queue.upsertJobScheduler(
      'nightly',
      { every: 3_600_000 },
      { name: 'nightly', data: { schedule: 'nightly' } },
    );
    const [building] = await until(
      async () => {
        const running = (await engine?.core.jobs.list(10))?.filter((j) => j.state === 'running');
        return running?.length ? running : undefined;
      },
      { what: 'the scheduled build to run' },
    );
    await engine.core.close();
    const queue = new Queue(SCHEDULE_QUEUE, {
      connection: redisOptions(redisUrl()),
      prefix: config.redis.prefix,
    });
    undo.push(() => queue.close());
    expect(await queue.getWaitingCount()).toBe(1); // back in the queue, not failed

    const second = await engine.addBot();
    await until(async () => (await queue.getActiveCount()) === 1, {
      what: 'the second instance to take the tick',
    });
    await second.core.jobs.cancel(building?.jobId ?? '', schedulePrincipal('nightly'));
    const [tick] = await until(
      async () => {
        const done = await queue.getCompleted();
        return done.length > 0 ? done : undefined;
      },
      { what: 'the tick to complete' },
    );
    // The second instance found the build the first one queued, saw it end, and had nothing to test.
    expect(tick?.returnvalue).toEqual({ schedule: 'nightly', builds: { kvm: building?.jobId }, tests: {} });
    expect(await queue.getFailedCount()).toBe(0);
  });

  it('ends a tick that job control refuses without failing, and keeps running ticks', async () => {
    const config = testConfig((c) => {
      c.schedules = {
        retest: { ...nightly, version: '9.9', formats: ['kvm'], stages: ['test'] },
        nightly: { ...nightly, formats: ['all'], stages: ['build'] },
      };
    });
    engine = await startEngine({ config });
    const queue = engine.core.schedules.queue;
    const refused = await fireNow(queue, 'retest');
    expect(refused).toEqual({
      schedule: 'retest',
      builds: {},
      tests: {},
      stopped:
        'test refused (not_ready): cernvm 9.9 kvm has not been built: build it first (build cernvm 9.9 kvm).',
    });
    const built = await fireNow(queue, 'nightly');
    expect(Object.keys(built.builds)).toEqual(['kvm', 'vmware', 'virtualbox', 'xen', 'hyperv', 'ec2']);
    expect(built.tests).toEqual({});
    expect(await queue.getFailedCount()).toBe(0);
  });
});
