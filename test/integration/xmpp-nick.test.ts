// The XMPP bot's nick in a room, against a real Prosody: when its nick is taken it joins under a
// fallback nick and answers to that one; when its nick is free again it takes it back.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Prosody, startProsody } from '../helpers/prosody.ts';
import { body, newRoom, PASSWORD, Person, startBot } from '../helpers/xmpp.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('xmpp nick', () => {
  let prosody: Prosody;
  beforeAll(async () => {
    prosody = await startProsody();
    for (const name of ['vmops', 'alice', 'mallory']) prosody.register(name, PASSWORD);
  });
  afterAll(async () => {
    await prosody?.stop();
  });

  it('answers to its fallback nick while its own is taken, and takes its own back when it is free', async () => {
    const room = newRoom(prosody.muc);
    const alice = await Person.online(prosody, 'alice');
    cleanups.push(() => alice.stop());
    await alice.join(room, 'Alice');
    const mallory = await Person.online(prosody, 'mallory');
    cleanups.push(() => mallory.stop());
    await mallory.join(room, 'vmops'); // the bot's nick, taken first
    const bot = await startBot(prosody, { rooms: [room] });
    cleanups.push(() => bot.stop());

    await alice.say(room, 'vmops_: whoami');
    const answer = await alice.waitFor(
      (s) => s.attrs.from === `${room}/vmops_` && /^You are alice/.test(body(s)),
      'the answer under the fallback nick',
    );
    expect(body(answer)).toMatch(/^You are alice/);

    await mallory.stop(); // the nick is free
    await alice.waitFor(
      (s) =>
        s.name === 'presence' &&
        s.attrs.from === `${room}/vmops` &&
        s.attrs.type !== 'unavailable' &&
        s
          .getChild('x', 'http://jabber.org/protocol/muc#user')
          ?.getChild('item')
          ?.attrs.jid?.startsWith('vmops@') === true,
      'the bot under its own nick',
    );
    await alice.say(room, 'vmops: whoami');
    await alice.waitFor(
      (s) => s.attrs.from === `${room}/vmops` && /^You are alice/.test(body(s)) && s !== answer,
      'the answer under its own nick',
    );
  }, 60_000);
});
