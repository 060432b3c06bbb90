// A room that refuses messages after the server took them (Prosody): the server's stream-management
// acknowledgement comes for every message, and the room then bounces some. Over a room rate limit as
// public servers run (mod_muc_limits' behaviour, test/fixtures/prosody/mod_vmops_room_limits.lua), the
// bot must send them again, not count them as sent: every reply arrives, each once. Without voice, a
// reply is refused for good: the bot says so in its log, does not try it again, and the room's next
// replies go out once its voice is back.
import { xml } from '@xmpp/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLogger } from '../helpers/log-capture.ts';
import { type Prosody, startProsody } from '../helpers/prosody.ts';
import { body, fromBot, NS_MUC_ADMIN, newRoom, PASSWORD, Person, startBot } from '../helpers/xmpp.ts';

describe('xmpp rooms that refuse messages (Prosody)', () => {
  let prosody: Prosody;
  beforeAll(async () => {
    prosody = await startProsody({ roomLimits: { perSecond: 4, burst: 2 } });
    for (const name of ['vmops', 'alice']) prosody.register(name, PASSWORD);
  });
  afterAll(async () => {
    await prosody?.stop();
  });

  it('sends the replies a busy room refused again, until each is shown once', async () => {
    const room = newRoom(prosody.muc);
    const alice = await Person.online(prosody, 'alice');
    // alice makes the room, so she owns it and is not limited; the bot has no affiliation and is.
    await alice.join(room, 'Alice');
    const vmops = await startBot(prosody, { rooms: [room], adapter: { roomBusyWaitMs: 200 } });
    try {
      const asked = Array.from({ length: 8 }, (_, i) => `nojob${i}x`);
      for (const id of asked) await alice.say(room, `vmops: status ${id}`);
      for (const id of asked) {
        await alice.waitFor(
          (s) => fromBot(room)(s.attrs.from ?? '') && body(s).includes(id),
          `the reply about ${id}`,
        );
      }
      // The limit was hit: without sending again, the refused replies would be missing.
      expect(prosody.log()).toMatch(/vmops_room_limits: refused/);
      const replies = alice.messagesFrom(fromBot(room)).map(body);
      for (const id of asked) expect(replies.filter((text) => text.includes(id))).toHaveLength(1);
      expect(replies).toHaveLength(asked.length);
    } finally {
      await vmops.stop();
      await alice.stop();
    }
  });

  it('gives up a reply the room refuses for good (no voice), says so, and sends the next once it may', async () => {
    const room = newRoom(prosody.muc);
    const alice = await Person.online(prosody, 'alice');
    await alice.join(room, 'Alice');
    const captured = capturedLogger('info');
    const vmops = await startBot(prosody, {
      rooms: [room],
      log: captured.log,
      adapter: { roomBusyWaitMs: 200 },
    });
    const setRole = async (role: 'visitor' | 'participant', id: string) => {
      await alice.xmpp.send(
        xml(
          'iq',
          { type: 'set', to: room, id },
          xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { nick: 'vmops', role })),
        ),
      );
      await alice.waitFor(
        (s) => s.name === 'iq' && s.attrs.id === id && s.attrs.type === 'result',
        `role ${role}`,
      );
    };
    try {
      await setRole('visitor', 'mute');
      await alice.say(room, 'vmops: status nojobmuted');
      const givenUp = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the refused reply was never reported')), 20_000);
        const look = setInterval(() => {
          const entry = captured.entries().find((e) => e.msg === 'send failed; given up');
          if (!entry) return;
          clearTimeout(timer);
          clearInterval(look);
          resolve(entry);
        }, 20);
      });
      expect(JSON.stringify(givenUp.err)).toContain('xmpp_forbidden');
      expect(captured.entries().filter((e) => e.msg === 'send failed; trying again')).toEqual([]);

      await setRole('participant', 'unmute');
      await alice.say(room, 'vmops: status nojobspoken');
      await alice.waitFor(
        (s) => fromBot(room)(s.attrs.from ?? '') && body(s).includes('nojobspoken'),
        'the reply once the bot may speak',
      );
      expect(alice.messagesFrom(fromBot(room)).map(body).join('\n')).not.toContain('nojobmuted');
    } finally {
      await vmops.stop();
      await alice.stop();
    }
  });
});
