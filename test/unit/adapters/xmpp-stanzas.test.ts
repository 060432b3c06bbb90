// Stanza → IncomingMessage normalisation and MUC occupant tracking of the xmpp adapter, without a server.
import { type Element, xml } from '@xmpp/client';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../adapters/xmpp/backoff.ts';
import { MucRoom } from '../../../adapters/xmpp/rooms.ts';
import {
  type NormalizeContext,
  normalizeMessage,
  readMucPresence,
  selfPingVerdict,
  stripMention,
} from '../../../adapters/xmpp/stanzas.ts';

const ROOM = 'ops@conference.example.org';
const MUC_USER = 'http://jabber.org/protocol/muc#user';

function presence(nick: string, item: Record<string, string>, codes: number[] = [], type?: string): Element {
  return xml(
    'presence',
    { from: `${ROOM}/${nick}`, to: 'vmops@example.org/r', ...(type ? { type } : {}) },
    xml(
      'x',
      { xmlns: MUC_USER },
      xml('item', item),
      ...codes.map((code) => xml('status', { code: String(code) })),
    ),
  );
}

function joinedRoom(): MucRoom {
  const room = new MucRoom(ROOM, 'vmops');
  room.joining();
  const apply = (p: Element) => {
    const read = readMucPresence(p);
    if (!read) throw new Error('not a MUC presence');
    return room.apply(read);
  };
  apply(presence('Alice', { jid: 'Alice@Example.org/laptop', role: 'participant', affiliation: 'member' }));
  apply(presence('alice', { role: 'participant', affiliation: 'none' })); // hidden JID
  expect(apply(presence('vmops', { jid: 'vmops@example.org/r', role: 'participant' }, [100, 110]))).toEqual({
    kind: 'joined',
    seesRealJids: true,
  });
  room.live = true;
  return room;
}

function context(room: MucRoom | undefined): NormalizeContext {
  return {
    ownJid: 'vmops@example.org',
    room: (bare) => (bare === ROOM ? room : undefined),
    names: ['vmops'],
    now: 1000,
    randomId: () => 'rnd',
  };
}

const groupchat = (nick: string, text: string, attrs: Record<string, string> = {}, ...extra: Element[]) =>
  xml(
    'message',
    { from: `${ROOM}/${nick}`, type: 'groupchat', id: 'm1', ...attrs },
    xml('body', {}, text),
    ...extra,
  );

describe('xmpp stanza normalisation', () => {
  it('takes the sender of a room message from the real JID its presence showed, never the nick', () => {
    const room = joinedRoom();
    const result = normalizeMessage(groupchat('Alice', 'vmops: build 2.6 kvm'), context(room));
    expect(result).toEqual({
      message: {
        eventId: `${ROOM}|alice@example.org|m1`,
        sender: { id: 'alice@example.org', displayName: 'Alice', isBot: false, isSelf: false },
        target: { network: 'xmpp', room: ROOM, isDirect: false },
        text: 'build 2.6 kvm',
        mentioned: true,
        sentAt: 1000,
      },
    });
  });

  it('makes an occupant whose real JID is hidden a sender id that no bare JID can equal', () => {
    const result = normalizeMessage(groupchat('alice', '!build 2.6 kvm'), context(joinedRoom()));
    if ('drop' in result) throw new Error(result.drop);
    expect(result.message.sender.id).toBe(`${ROOM}/alice`);
    expect(result.message.sender.id).toContain('/');
    expect(result.message.sender.hiddenBecause).toContain('non-anonymous');
    expect(result.message.mentioned).toBe(false);
    expect(result.message.text).toBe('!build 2.6 kvm');
  });

  it('marks a delayed message as backlog with its original time, for the pipeline to judge', () => {
    const room = joinedRoom();
    const delay = xml('delay', { xmlns: 'urn:xmpp:delay', stamp: '2020-01-01T00:00:00Z' });
    const result = normalizeMessage(groupchat('Alice', 'vmops: revoke 2.5', {}, delay), context(room));
    if ('drop' in result) throw new Error(result.drop);
    const at = Date.parse('2020-01-01T00:00:00Z');
    expect(result.message.sentAt).toBe(at);
    expect(result.message.backlog).toEqual({ kind: 'away', originalAt: at });
    // History handed at the join is delayed too: backlog, not dropped.
    room.live = false;
    const history = normalizeMessage(groupchat('Alice', 'vmops: revoke 2.5', {}, delay), context(room));
    if ('drop' in history) throw new Error(history.drop);
    expect(history.message.backlog?.kind).toBe('away');
    // A live message carries no backlog mark.
    room.live = true;
    const live = normalizeMessage(groupchat('Alice', 'vmops: jobs'), context(room));
    if ('drop' in live) throw new Error(live.drop);
    expect(live.message.backlog).toBeUndefined();
  });

  it('drops undated history, corrections, bodiless and error messages', () => {
    const room = joinedRoom();
    room.live = false;
    expect(normalizeMessage(groupchat('Alice', 'vmops: revoke 2.5'), context(room))).toEqual({
      drop: 'before the join completed (history)',
    });
    room.live = true;
    const replace = xml('replace', { xmlns: 'urn:xmpp:message-correct:0', id: 'x' });
    expect(normalizeMessage(groupchat('Alice', 'vmops: revoke 2.5', {}, replace), context(room))).toEqual({
      drop: 'a correction',
    });
    const chatState = xml('message', { from: `${ROOM}/Alice`, type: 'groupchat' }, xml('active'));
    expect(normalizeMessage(chatState, context(room))).toEqual({ drop: 'no body' });
    expect(normalizeMessage(groupchat('Alice', 'x', { type: 'error' }), context(room))).toEqual({
      drop: 'type error',
    });
    expect(normalizeMessage(groupchat('Alice', 'x'), context(undefined))).toEqual({
      drop: 'groupchat from no room of ours',
    });
  });

  it("marks the bot's own messages, by its nick in the room", () => {
    const result = normalizeMessage(groupchat('vmops', '✅ build …'), context(joinedRoom()));
    if ('drop' in result) throw new Error(result.drop);
    expect(result.message.sender.isSelf).toBe(true);
    expect(result.message.sender.hiddenBecause).toBeUndefined();
  });

  it('gives a resent stanza the same event id even when the archive gave it a new stanza-id', () => {
    const room = joinedRoom();
    const copy = (sid: string) =>
      groupchat(
        'Alice',
        'vmops: deploy 2.6 local',
        { id: 'same' },
        xml('stanza-id', { xmlns: 'urn:xmpp:sid:0', by: ROOM, id: sid }),
      );
    const a = normalizeMessage(copy('s1'), context(room));
    const b = normalizeMessage(copy('s2'), context(room));
    if ('drop' in a || 'drop' in b) throw new Error('dropped');
    expect(a.message.eventId).toBe(b.message.eventId);
    // Without a sender id, the room's stanza-id is the event id.
    const noId = xml(
      'message',
      { from: `${ROOM}/Alice`, type: 'groupchat' },
      xml('body', {}, 'vmops: jobs'),
      xml('stanza-id', { xmlns: 'urn:xmpp:sid:0', by: ROOM, id: 's3' }),
    );
    const c = normalizeMessage(noId, context(room));
    if ('drop' in c) throw new Error(c.drop);
    expect(c.message.eventId).toBe(`${ROOM}|sid|s3`);
  });

  it('answers a direct message to the bare JID of its sender, and a private message in a room to the occupant', () => {
    const direct = xml(
      'message',
      { from: 'Bob@Example.org/phone', type: 'chat', id: 'd1' },
      xml('body', {}, 'status'),
    );
    const result = normalizeMessage(direct, context(joinedRoom()));
    if ('drop' in result) throw new Error(result.drop);
    expect(result.message.sender).toEqual({
      id: 'bob@example.org',
      displayName: 'bob@example.org',
      isBot: false,
      isSelf: false,
    });
    expect(result.message.target).toEqual({ network: 'xmpp', room: 'bob@example.org', isDirect: true });
    const own = xml('message', { from: 'vmops@example.org/other', type: 'chat' }, xml('body', {}, 'x'));
    const ownResult = normalizeMessage(own, context(undefined));
    expect('message' in ownResult && ownResult.message.sender.isSelf).toBe(true);

    const pm = xml('message', { from: `${ROOM}/Alice`, type: 'chat', id: 'p1' }, xml('body', {}, 'jobs'));
    const pmResult = normalizeMessage(pm, context(joinedRoom()));
    if ('drop' in pmResult) throw new Error(pmResult.drop);
    expect(pmResult.message.target).toEqual({ network: 'xmpp', room: `${ROOM}/Alice`, isDirect: true });
    expect(pmResult.message.sender.id).toBe('alice@example.org');
  });

  it('recognises the nick at the start of a message, in any case', () => {
    expect(stripMention('@VMOPS build 2.6', ['vmops'])).toEqual({ text: 'build 2.6', mentioned: true });
    expect(stripMention('vmops, jobs', ['vmops'])).toEqual({ text: 'jobs', mentioned: true });
    expect(stripMention('vmopsy: jobs', ['vmops'])).toEqual({ text: 'vmopsy: jobs', mentioned: false });
  });
});

describe('xmpp room occupants', () => {
  it('follows nick changes and leaves, and forgets a JID when its occupant leaves', () => {
    const room = joinedRoom();
    const apply = (p: Element) => {
      const read = readMucPresence(p);
      if (read) room.apply(read);
    };
    apply(presence('Alice', { jid: 'alice@example.org/laptop', nick: 'Ally' }, [303], 'unavailable'));
    expect(room.occupant('Alice')).toBeUndefined();
    expect(room.occupant('Ally')?.realJid).toBe('alice@example.org');
    apply(presence('Ally', { jid: 'alice@example.org/laptop', role: 'none' }, [], 'unavailable'));
    expect(room.occupant('Ally')).toBeUndefined();
    // Whoever takes the nick next is a new occupant: nothing carries over.
    apply(presence('Ally', { role: 'participant' }));
    expect(room.occupant('Ally')?.realJid).toBeUndefined();
  });

  it('reports being kicked (rejoin) and banned (no rejoin), and a refused join', () => {
    const kicked = joinedRoom();
    const read = (p: Element) => {
      const r = readMucPresence(p);
      if (!r) throw new Error('not a MUC presence');
      return r;
    };
    expect(kicked.apply(read(presence('vmops', { role: 'none' }, [307, 110], 'unavailable')))).toEqual({
      kind: 'left',
      rejoin: true,
      reason: 'kicked',
    });
    const banned = joinedRoom();
    expect(banned.apply(read(presence('vmops', { role: 'none' }, [301, 110], 'unavailable')))).toMatchObject({
      kind: 'left',
      rejoin: false,
    });
    const conflict = new MucRoom(ROOM, 'vmops');
    conflict.joining();
    const error = xml(
      'presence',
      { from: `${ROOM}/vmops`, type: 'error' },
      xml('error', { type: 'cancel' }, xml('conflict', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' })),
    );
    expect(conflict.apply(read(error))).toEqual({ kind: 'join-failed', error: 'conflict' });
  });

  it('notes a semi-anonymous room (no status 100, not a moderator)', () => {
    const room = new MucRoom(ROOM, 'vmops');
    room.joining();
    const read = readMucPresence(presence('vmops', { role: 'participant' }, [110]));
    expect(read && room.apply(read)).toEqual({ kind: 'joined', seesRealJids: false });
  });
});

describe('xmpp self-ping and backoff', () => {
  it('reads self-ping errors as XEP-0410 says', () => {
    expect(selfPingVerdict('service-unavailable')).toBe('joined');
    expect(selfPingVerdict('feature-not-implemented')).toBe('joined');
    expect(selfPingVerdict('remote-server-timeout')).toBe('unknown');
    expect(selfPingVerdict(undefined)).toBe('unknown');
    expect(selfPingVerdict('not-acceptable')).toBe('gone');
    expect(selfPingVerdict('item-not-found')).toBe('gone');
  });

  it('doubles the wait up to the maximum, with jitter in the upper half', () => {
    const backoff = { baseMs: 1000, maxMs: 60_000 };
    expect(backoffDelay(0, backoff, () => 0)).toBe(500);
    expect(backoffDelay(0, backoff, () => 1)).toBe(1000);
    expect(backoffDelay(3, backoff, () => 1)).toBe(8000);
    expect(backoffDelay(20, backoff, () => 0.5)).toBe(45_000);
    expect(backoffDelay(1000, backoff, () => 1)).toBe(60_000);
  });
});
