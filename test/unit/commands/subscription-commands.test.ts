// subscribe and unsubscribe: what they change and what the room is told, against an in-memory store.
import { describe, expect, it } from 'vitest';
import { fakeSubscriptions, roomMessage, run } from './fake-context.ts';

const ALL = 'built, passed, failed, published, deployed, revoked, updated';

describe('subscribe and unsubscribe', () => {
  it('subscribes a room to every event when none is named', async () => {
    const subscriptions = fakeSubscriptions();
    expect((await run('subscribe', { subscriptions })).reply).toEqual({
      text: `This room is now subscribed to: ${ALL}.`,
      tone: 'ok',
    });
    expect(subscriptions.rooms.get('shell:tty')).toHaveLength(7);
  });

  it('adds named events to what the room has, in the usual order', async () => {
    const subscriptions = fakeSubscriptions();
    await run('subscribe revoked', { subscriptions });
    expect((await run('subscribe published built', { subscriptions })).reply?.text).toBe(
      'This room is now subscribed to: built, published, revoked.',
    );
  });

  it('removes named events, or all of them, and says what is left', async () => {
    const subscriptions = fakeSubscriptions();
    await run('subscribe', { subscriptions });
    expect((await run('unsubscribe built passed', { subscriptions })).reply?.text).toBe(
      'This room is now subscribed to: failed, published, deployed, revoked, updated.',
    );
    expect((await run('unsubscribe', { subscriptions })).reply?.text).toBe(
      'This room is no longer subscribed to any image events (subscribe [event…] starts again).',
    );
    expect(subscriptions.rooms.size).toBe(0);
  });

  it('keeps rooms apart and calls a direct conversation a conversation', async () => {
    const subscriptions = fakeSubscriptions();
    const direct = {
      ...roomMessage('subscribe failed'),
      target: { network: 'shell', room: 'dm', isDirect: true },
    };
    expect((await run('subscribe failed', { subscriptions, message: direct })).reply?.text).toBe(
      'This conversation is now subscribed to: failed.',
    );
    await run('subscribe built', { subscriptions });
    expect(Object.fromEntries(subscriptions.rooms)).toEqual({
      'shell:dm': ['failed'],
      'shell:tty': ['built'],
    });
  });
});
