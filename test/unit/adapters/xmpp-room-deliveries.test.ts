// A room's answer to the bot's message: the reflection settles the send, a bounce fails it as its error
// says (a busy room is a rate limit, a room the bot is out of is worth another try, no voice is not),
// and a room that says nothing is taken to have taken it after a while, as before.
import { xml } from '@xmpp/client';
import { describe, expect, it } from 'vitest';
import { bounceFailure, RoomDeliveries } from '../../../adapters/xmpp/room-deliveries.ts';
import { SendFailure } from '../../../src/chat/send-failure.ts';

const ROOM = 'ops@conference.example.org';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

function bounce(id: string, type: string, condition: string, text?: string) {
  return xml(
    'message',
    { from: ROOM, type: 'error', id },
    xml(
      'error',
      { type },
      xml(condition, { xmlns: NS_STANZAS }),
      text ? xml('text', { xmlns: NS_STANZAS }, text) : undefined,
    ),
  );
}

const reflection = (id: string, originId?: string) =>
  xml(
    'message',
    { from: `${ROOM}/vmops`, type: 'groupchat', id },
    xml('body', {}, 'hi'),
    originId ? xml('origin-id', { xmlns: 'urn:xmpp:sid:0', id: originId }) : undefined,
  );

describe('bounceFailure', () => {
  it('makes a busy room a rate limit with a wait, so the outbox waits it out', () => {
    const failure = bounceFailure(
      bounce('m1', 'wait', 'policy-violation', 'The room is currently overactive, please try again later'),
      ROOM,
      1234,
    );
    expect(failure).toMatchObject({
      retryable: true,
      retryAfterMs: 1234,
      platformCode: 'xmpp_policy-violation',
    });
    expect(failure.message).toBe(
      `the room ${ROOM} refused the message (wait/policy-violation: The room is currently overactive, please try again later)`,
    );
    expect(bounceFailure(bounce('m1', 'wait', 'resource-constraint'), ROOM).retryAfterMs).toBe(2000);
  });

  it('tries again, without a set wait, in a room the bot is out of', () => {
    expect(bounceFailure(bounce('m1', 'cancel', 'not-acceptable'), ROOM)).toMatchObject({
      retryable: true,
      retryAfterMs: undefined,
      platformCode: 'xmpp_not-acceptable',
    });
  });

  it('gives up on what the room will never take: no voice, a message too long', () => {
    expect(bounceFailure(bounce('m1', 'auth', 'forbidden'), ROOM).retryable).toBe(false);
    expect(bounceFailure(bounce('m1', 'modify', 'policy-violation', 'too long'), ROOM)).toMatchObject({
      retryable: false,
      platformCode: 'xmpp_policy-violation',
    });
  });
});

describe('RoomDeliveries', () => {
  it('settles a send when the room reflects it, by its id or its origin-id', async () => {
    const deliveries = new RoomDeliveries();
    const first = deliveries.expect('m1', ROOM);
    const second = deliveries.expect('m2', ROOM);
    deliveries.reflected(ROOM, reflection('m1'));
    await expect(first).resolves.toBeUndefined();
    deliveries.reflected(ROOM, reflection('an-id-the-server-gave', 'm2'));
    await expect(second).resolves.toBeUndefined();
    expect(deliveries.size).toBe(0);
  });

  it('fails a send the room bounced, and leaves the others waiting', async () => {
    const deliveries = new RoomDeliveries({ busyWaitMs: 10 });
    const refused = deliveries.expect('m1', ROOM);
    const other = deliveries.expect('m2', ROOM);
    expect(deliveries.bounced(ROOM, bounce('m1', 'wait', 'policy-violation'))).toBe(true);
    await expect(refused).rejects.toBeInstanceOf(SendFailure);
    await expect(refused).rejects.toMatchObject({ retryAfterMs: 10 });
    expect(deliveries.size).toBe(1);
    // An error about another room, or about no message of ours, settles nothing.
    expect(deliveries.bounced('other@conference.example.org', bounce('m2', 'auth', 'forbidden'))).toBe(false);
    expect(deliveries.bounced(ROOM, bounce('nobody', 'auth', 'forbidden'))).toBe(false);
    deliveries.reflected(ROOM, reflection('m2'));
    await expect(other).resolves.toBeUndefined();
  });

  it('takes a message the room says nothing about as taken, after the quiet time', async () => {
    const deliveries = new RoomDeliveries({ quietMs: 20 });
    await expect(deliveries.expect('m1', ROOM)).resolves.toBeUndefined();
    expect(deliveries.size).toBe(0);
  });

  it('fails what still waits when the adapter stops, for good', async () => {
    const deliveries = new RoomDeliveries();
    const waiting = deliveries.expect('m1', ROOM);
    deliveries.failAll();
    await expect(waiting).rejects.toMatchObject({ retryable: false, platformCode: 'stopped' });
  });
});
