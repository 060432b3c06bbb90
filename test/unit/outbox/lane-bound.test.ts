// The outbox's bound while a room's network is away: a lane holds at most `maxPerLane` messages; what
// overflows is the oldest progress (never a job's final state while other progress waits), each drop
// is told to its sender, counted and logged; answers owed to a person go only when the lane holds
// nothing else, and the message already on its way is never dropped. No network is reached: the fake
// network is unpaced, so the outbox never touches Redis (a lazy client that never connects).
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { SendFailure } from '../../../src/chat/send-failure.ts';
import { Outbox, type Priority } from '../../../src/outbox/outbox.ts';
import type { ChatTarget, MessageRef, Reply } from '../../../src/types.ts';
import { FakeChat } from '../../helpers/fake-chat.ts';
import { capturedLogger } from '../../helpers/log-capture.ts';

/** A terminal-like network (no budgets) that can be away: while it is, the outbox waits for it. */
class AwayChat extends FakeChat {
  #back: Promise<void> | undefined;
  #return: (() => void) | undefined;

  away(): void {
    this.#back = new Promise((resolve) => {
      this.#return = resolve;
    });
  }

  back(): void {
    this.#return?.();
    this.#back = undefined;
  }

  whenSendable(): Promise<void> {
    return this.#back ?? Promise.resolve();
  }
}

const room: ChatTarget = { network: 'fake', room: 'ops', isDirect: false };
const say = (text: string): Reply => ({ text, tone: 'info' });

const undo: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of undo.splice(0).reverse()) await step();
});

function setUp(maxPerLane: number) {
  const chat = new AwayChat();
  const captured = capturedLogger();
  const drops: { network: string; priority: Priority; final: boolean }[] = [];
  const redis = new Redis({ lazyConnect: true });
  const outbox = new Outbox({
    adapters: new Map([['fake', chat]]),
    redis,
    prefix: 'unused:',
    instanceId: 'one',
    log: captured.log,
    maxPerLane,
    onDrop: (drop) => drops.push(drop),
  });
  undo.push(() => redis.disconnect());
  undo.push(() => outbox.stop(0));
  return { chat, outbox, drops, captured };
}

/** What became of one message handed to the outbox. */
function watch<T>(promise: Promise<T>) {
  const outcome: { done?: boolean; error?: unknown } = {};
  const settled = promise.then(
    () => {
      outcome.done = true;
    },
    (error: unknown) => {
      outcome.error = error;
    },
  );
  return { outcome, settled };
}

describe('outbox lane bound', () => {
  it('drops the oldest progress edits first and keeps the answers, the final state and the message on its way', async () => {
    const { chat, outbox, drops, captured } = setUp(10);
    // Twelve status messages posted while the network is up.
    const refs: MessageRef[] = [];
    for (let i = 1; i <= 12; i++) refs.push(await outbox.send(room, say(`job ${i} queued`)));
    chat.away();
    const first = watch(outbox.send(room, say('answer 0'))); // on its way: waits for the network
    const progress = refs.map((ref, i) => watch(outbox.edit(ref, say(`job ${i + 1} at 50%`))));
    const answers = [1, 2, 3].map((i) => watch(outbox.send(room, say(`answer ${i}`))));
    // Job 1's progress was dropped by then (the oldest); its final state comes after all the rest.
    const final = watch(outbox.edit(refs[0] as MessageRef, say('job 1 done'), { final: true }));
    expect(outbox.pending).toBe(10);

    chat.back();
    await Promise.all([first, ...progress, ...answers, final].map((w) => w.settled));
    // The room sees every answer, job 1's final state, and the newest progress; the oldest waited out.
    expect(chat.texts()).toEqual([
      'job 1 done',
      'job 2 queued',
      'job 3 queued',
      'job 4 queued',
      'job 5 queued',
      'job 6 queued',
      'job 7 queued',
      'job 8 at 50%',
      'job 9 at 50%',
      'job 10 at 50%',
      'job 11 at 50%',
      'job 12 at 50%',
      'answer 0',
      'answer 1',
      'answer 2',
      'answer 3',
    ]);
    expect(first.outcome.done).toBe(true);
    expect(final.outcome.done).toBe(true);
    for (const answer of answers) expect(answer.outcome.done).toBe(true);
    // Who handed in a dropped edit is told, with a failure that lets it redraw later.
    const dropped = progress.slice(0, 7).map((w) => w.outcome.error);
    for (const error of dropped) {
      expect(error).toBeInstanceOf(SendFailure);
      expect((error as SendFailure).platformCode).toBe('outbox_full');
      expect((error as SendFailure).retryable).toBe(true);
    }
    for (const kept of progress.slice(7)) expect(kept.outcome.done).toBe(true);
    expect(drops).toEqual(Array(7).fill({ network: 'fake', priority: 'progress', final: false }));
    const logged = captured.entries().filter((e) => e.msg === 'outbox lane full; oldest message dropped');
    expect(logged).toHaveLength(1); // the first drop of the lane, not one line per drop
    expect(logged[0]).toMatchObject({ lane: 'fake:room:ops', priority: 'progress', limit: 10 });
  });

  it('drops the oldest answers only when the lane holds nothing else, never the one on its way', async () => {
    const { chat, outbox, drops } = setUp(10);
    chat.away();
    const answers = Array.from({ length: 25 }, (_, i) => watch(outbox.send(room, say(`answer ${i}`))));
    expect(outbox.pending).toBe(10);
    chat.back();
    await Promise.all(answers.map((w) => w.settled));
    expect(chat.texts()).toEqual([0, 16, 17, 18, 19, 20, 21, 22, 23, 24].map((i) => `answer ${i}`));
    expect(answers.filter((w) => w.outcome.error !== undefined)).toHaveLength(15);
    expect(drops.every((d) => d.priority === 'reply')).toBe(true);
  });

  it('keeps a job’s final state over progress of other jobs, whichever is older', async () => {
    const { chat, outbox } = setUp(10);
    const refs: MessageRef[] = [];
    for (let i = 1; i <= 11; i++) refs.push(await outbox.send(room, say(`job ${i} queued`)));
    chat.away();
    const first = watch(outbox.send(room, say('on its way')));
    const final = watch(outbox.edit(refs[0] as MessageRef, say('job 1 done'), { final: true }));
    const progress = refs.slice(1).map((ref, i) => watch(outbox.edit(ref, say(`job ${i + 2} at 50%`))));
    chat.back();
    await Promise.all([first, final, ...progress].map((w) => w.settled));
    expect(final.outcome.done).toBe(true);
    expect(chat.texts()[0]).toBe('job 1 done');
    expect(progress[0]?.outcome.error).toBeInstanceOf(SendFailure); // job 2's progress, the oldest
    expect(progress.filter((w) => w.outcome.error !== undefined)).toHaveLength(2);
  });

  it('drops nothing when many edits of one message wait: they merge into one', async () => {
    const { chat, outbox, drops } = setUp(10);
    const ref = await outbox.send(room, say('job queued'));
    chat.away();
    const edits = Array.from({ length: 200 }, (_, i) => watch(outbox.edit(ref, say(`job at ${i}%`))));
    expect(outbox.pending).toBe(1);
    chat.back();
    await Promise.all(edits.map((w) => w.settled));
    expect(drops).toEqual([]);
    expect(chat.texts()).toEqual(['job at 199%']);
  });
});
