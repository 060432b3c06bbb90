// The outbox on its own, against real Redis and a network that enforces a rate limit the way a
// platform does (a 429 with the wait for any request that breaks it): what a person is owed goes
// before progress edits, waiting edits of one message merge, two instances share one budget, and
// only what the network calls retryable is tried again, always under the same transaction id, and a
// room whose network is away holds only its own messages, which then go in order, edits merged.
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SendFailure } from '../../src/chat/send-failure.ts';
import { Outbox } from '../../src/outbox/outbox.ts';
import type {
  AdapterLimits,
  ChatAdapter,
  ChatTarget,
  MessageRef,
  Reply,
  SendOptions,
  SendRate,
} from '../../src/types.ts';
import { cleanPrefix, redisUrl, testPrefix } from '../helpers/redis.ts';

const log = pino({ level: 'silent' });
const undo: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of undo.splice(0).reverse()) await step();
});

interface Request {
  op: 'send' | 'edit';
  text: string;
  txnId: string | undefined;
  at: number;
}

/** A network whose account may make `rate` requests (sends and edits together), refusing the rest with a 429. */
class LimitedNetwork implements ChatAdapter {
  readonly network = 'limited';
  readonly limits: AdapterLimits;
  readonly requests: Request[] = [];
  refused = 0;
  /** Requests still to fail, and how. */
  failures: SendFailure[] = [];
  readonly #rate: SendRate;
  #tat = 0;
  #next = 0;

  constructor(rate: SendRate) {
    this.#rate = rate;
    this.limits = {
      canEdit: true,
      minEditIntervalMs: 0,
      maxMessageLength: 4000,
      sendBudget: { per: 'account', rate },
      editBudget: { per: 'account', rate },
    };
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  directTarget(account: string): ChatTarget {
    return { network: this.network, room: account, isDirect: true };
  }

  async #request(op: Request['op'], reply: Reply, options: SendOptions | undefined): Promise<void> {
    const failure = this.failures.shift();
    this.requests.push({ op, text: reply.text, txnId: options?.txnId, at: Date.now() });
    if (failure) throw failure;
    const now = Date.now();
    const interval = 1000 / this.#rate.perSecond;
    const earliest = this.#tat - (this.#rate.burst - 1) * interval;
    if (now < earliest) {
      this.refused += 1;
      throw new SendFailure('429', {
        retryable: true,
        retryAfterMs: Math.ceil(earliest - now),
        platformCode: 'ratelimited',
      });
    }
    this.#tat = Math.max(this.#tat, now) + interval;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }

  async send(target: ChatTarget, reply: Reply, options?: SendOptions): Promise<MessageRef> {
    await this.#request('send', reply, options);
    return { network: this.network, room: target.room, id: `m${++this.#next}` };
  }

  async edit(_ref: MessageRef, reply: Reply, options?: SendOptions): Promise<void> {
    await this.#request('edit', reply, options);
  }
}

function outboxOn(network: LimitedNetwork, prefix: string, instanceId = 'one'): Outbox {
  const redis = new Redis(redisUrl());
  const outbox = new Outbox({
    adapters: new Map([[network.network, network]]),
    redis,
    prefix: `${prefix}:`,
    instanceId,
    log,
    retryBaseMs: 5,
  });
  undo.push(() => redis.disconnect());
  undo.push(() => outbox.stop(0));
  return outbox;
}

function setUp(rate: SendRate) {
  const prefix = testPrefix();
  undo.push(() => cleanPrefix(prefix));
  const network = new LimitedNetwork(rate);
  return { prefix, network, outbox: outboxOn(network, prefix) };
}

const room: ChatTarget = { network: 'limited', room: 'ops', isDirect: false };
const ref = (id: string): MessageRef => ({ network: 'limited', room: 'ops', id });
const say = (text: string): Reply => ({ text, tone: 'info' });

describe('outbox', () => {
  it('sends what a person is owed before progress edits that were waiting longer', async () => {
    const { network, outbox } = setUp({ perSecond: 20, burst: 1 });
    const edits = [1, 2, 3, 4, 5].map((i) => outbox.edit(ref(`job${i}`), say(`progress of job ${i}`)));
    const answer = outbox.send(room, say('the answer'), { priority: 'reply' });
    await Promise.all([...edits, answer]);
    const order = network.requests.map((r) => r.text);
    // The first edit was already on its way; the answer went next.
    expect(order.indexOf('the answer')).toBeLessThanOrEqual(1);
    expect(order).toHaveLength(6);
    expect(network.refused).toBe(0);
  });

  it('merges edits of one message that wait: the latest content goes out, every caller is answered', async () => {
    const { network, outbox } = setUp({ perSecond: 10, burst: 1 });
    const edits = Array.from({ length: 10 }, (_, i) => outbox.edit(ref('status'), say(`step ${i + 1}`)));
    await Promise.all(edits);
    const sent = network.requests.map((r) => r.text);
    expect(sent.length).toBeLessThanOrEqual(2);
    expect(sent.at(-1)).toBe('step 10');
  });

  it('paces two instances on one budget as one: the network refuses nothing', async () => {
    const { prefix, network, outbox } = setUp({ perSecond: 20, burst: 2 });
    const other = outboxOn(network, prefix, 'two');
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? outbox : other).send(room, say(`message ${i}`))),
    );
    expect(network.requests).toHaveLength(12);
    expect(network.refused).toBe(0);
  });

  it('waits out a 429 and tries a retryable failure again under the same transaction id, a refusal once', async () => {
    const { network, outbox } = setUp({ perSecond: 100, burst: 10 });
    network.failures = [
      new SendFailure('429', { retryable: true, retryAfterMs: 30, platformCode: 'ratelimited' }),
      new SendFailure('502', { retryable: true, platformCode: 'http_502' }),
    ];
    await outbox.send(room, say('kept'), { txnId: 'txn-kept' });
    expect(network.requests.map((r) => r.txnId)).toEqual(['txn-kept', 'txn-kept', 'txn-kept']);

    network.requests.length = 0;
    network.failures = [new SendFailure('gone', { retryable: false, platformCode: 'message_not_found' })];
    await expect(outbox.edit(ref('deleted'), say('no'))).rejects.toMatchObject({
      code: 'send_failed',
      platformCode: 'message_not_found',
    });
    expect(network.requests).toHaveLength(1);

    network.requests.length = 0;
    network.failures = Array.from(
      { length: 9 },
      () => new SendFailure('503', { retryable: true, platformCode: 'http_503' }),
    );
    await expect(outbox.send(room, say('down'))).rejects.toMatchObject({ platformCode: 'http_503' });
    expect(network.requests).toHaveLength(6); // the outbox's tries, and no layer above it
    expect(new Set(network.requests.map((r) => r.txnId)).size).toBe(1);
  });
  it('waits out a network that is away in that room only, then sends in order, with waiting edits merged', async () => {
    const sent: { room: string; op: string; text: string }[] = [];
    const away = new Set(['ops']);
    const wake = new Set<() => void>();
    // An XMPP-like network: no per-message rate, one lane per room, a room sendable only when joined.
    const network: ChatAdapter = {
      network: 'limited',
      limits: { canEdit: true, minEditIntervalMs: 0, maxMessageLength: 4000 },
      start: async () => {},
      stop: async () => {},
      directTarget: (account) => ({ network: 'limited', room: account, isDirect: true }),
      whenSendable: (r) =>
        away.has(r)
          ? new Promise<void>((resolve) => wake.add(() => (away.has(r) ? undefined : resolve())))
          : Promise.resolve(),
      send: async (target, reply) => {
        sent.push({ room: target.room, op: 'send', text: reply.text });
        return { network: 'limited', room: target.room, id: `m${sent.length}` };
      },
      edit: async (r, reply) => {
        sent.push({ room: r.room, op: 'edit', text: reply.text });
      },
    };
    const prefix = testPrefix();
    undo.push(() => cleanPrefix(prefix));
    const redis = new Redis(redisUrl());
    undo.push(() => redis.disconnect());
    const outbox = new Outbox({
      adapters: new Map([['limited', network]]),
      redis,
      prefix,
      instanceId: 'one',
      log,
    });
    undo.push(() => outbox.stop(0));

    const waiting = [
      outbox.send(room, say('first')),
      outbox.edit(ref('status'), say('step 1')),
      outbox.send(room, say('second')),
      outbox.edit(ref('status'), say('step 2')),
      outbox.edit(ref('status'), say('done')),
    ];
    await outbox.send({ ...room, room: 'elsewhere' }, say('not held up'));
    expect(sent).toEqual([{ room: 'elsewhere', op: 'send', text: 'not held up' }]);
    expect(outbox.pending).toBe(3); // two replies, one merged edit

    away.delete('ops');
    for (const check of wake) check();
    await Promise.all(waiting);
    expect(sent.slice(1)).toEqual([
      { room: 'ops', op: 'send', text: 'first' },
      { room: 'ops', op: 'send', text: 'second' },
      { room: 'ops', op: 'edit', text: 'done' },
    ]);
  });
});
