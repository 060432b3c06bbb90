// A room that refuses messages after the server took them: Prosody with a room rate limit as public
// servers run (mod_muc_limits' behaviour, test/fixtures/prosody/mod_vmops_room_limits.lua). The
// server's stream-management acknowledgement comes for every message; the room then bounces those over
// its limit. The bot must send those again, not count them as sent: every reply arrives, each once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Prosody, startProsody } from '../helpers/prosody.ts';
import { body, fromBot, newRoom, PASSWORD, Person, startBot } from '../helpers/xmpp.ts';

describe('xmpp room with a rate limit (Prosody)', () => {
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
});
