// The approval scenario through real adapters: alice asks for a revoke in an XMPP room on a real
// Prosody; she may not approve it, nor may mallory wearing bob's nickname; bob, told directly over
// XMPP, approves from the terminal (another network) and the revoke runs once; a second approve is
// refused; a request left alone expires and the room is told.
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ShellAdapter } from '../../adapters/shell.ts';
import { type Prosody, startProsody } from '../helpers/prosody.ts';
import { until } from '../helpers/until.ts';
import { type Bot, body, fromBot, newRoom, PASSWORD, Person, startBot } from '../helpers/xmpp.ts';

/** The terminal as a second network, typed into and read by the test. */
function terminal(as: string) {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk) => {
    text += String(chunk);
  });
  const shell = new ShellAdapter({ input, output, interactive: false, as });
  return {
    shell,
    type: (line: string) => input.write(`${line}\n`),
    output: () => text,
    /** Resolves when the terminal shows `pattern` after `from` characters. */
    waitFor(pattern: RegExp, from = 0, timeoutMs = 20_000): Promise<string> {
      return until(() => pattern.test(text.slice(from)) && text.slice(from), {
        what: () => `the terminal to show ${pattern}:\n${text}`,
        timeoutMs,
      });
    },
  };
}

describe('approvals across XMPP and the terminal', () => {
  let prosody: Prosody;
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    prosody = await startProsody();
    for (const name of ['vmops', 'alice', 'bob', 'mallory']) prosody.register(name, PASSWORD);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await prosody?.stop();
  });

  it('holds revoke for bob, refuses alice and a nickname, takes bob’s approval from the other network once, and expires what nobody answers', async () => {
    const room = newRoom(prosody.muc);
    const alice = await Person.online(prosody, 'alice');
    const bob = await Person.online(prosody, 'bob');
    const mallory = await Person.online(prosody, 'mallory');
    cleanups.push(
      () => alice.stop(),
      () => bob.stop(),
      () => mallory.stop(),
    );
    await alice.join(room, 'Alice');
    await mallory.join(room, 'bob');
    const tty = terminal('bob');
    const vmops: Bot = await startBot(prosody, {
      rooms: [room],
      moreAdapters: [tty.shell],
      edit: (config) => {
        config.oncall.rota = ['bob'];
        config.policy.approvals.expireAfter = 6000;
        config.policy.approvals.escalateAfter = 5000;
      },
    });
    cleanups.push(
      () => vmops.stop(),
      () => tty.shell.stop(),
    );
    await tty.shell.start(async (message) => {
      await vmops.core.handle(message);
    });

    const fromVmops = fromBot(room);
    const inRoom = (pattern: RegExp, what: string) =>
      alice.waitFor((s) => fromVmops(s.attrs.from ?? '') && pattern.test(body(s)), what);

    await alice.say(room, 'vmops: build 2.5 kvm');
    await inRoom(/^✅ build cernvm 2\.5 kvm · job \w+ · succeeded/, 'the build');

    await alice.say(room, 'vmops: revoke 2.5 --reason "CVE-1"');
    const asked = await inRoom(/Request r-[a-z2-9]{6}\./, 'the request');
    const id = /Request (r-[a-z2-9]{6})\./.exec(body(asked))?.[1] ?? '';
    expect(body(asked)).toContain('revoke 2.5 --reason "CVE-1": revoke always waits for an approval.');
    // bob is told directly, on XMPP and on the terminal.
    const direct = await bob.waitFor(
      (s) =>
        s.attrs.type === 'chat' && (s.attrs.from ?? '').startsWith('vmops@localhost') && body(s).includes(id),
      'the direct request',
    );
    expect(body(direct)).toMatch(
      /^alice \(xmpp:alice@localhost, in xmpp:room.*\) asks for your approval: revoke 2\.5/,
    );
    await tty.waitFor(
      new RegExp(
        `\\(to bob\\) alice \\(xmpp:alice@localhost.*asks for your approval.*\\n.*\\n.*approve ${id}`,
      ),
    );

    await alice.say(room, `vmops: approve ${id}`);
    await inRoom(/^approve needs the approver role: you \(alice\) have the roles operator/, 'alice refused');
    await mallory.say(room, `vmops: approve ${id}`);
    const refused = await inRoom(
      /^approve needs the approver role: your xmpp account mallory@localhost/,
      'the nick refused',
    );
    expect(body(refused)).toContain('you are a guest');

    const before = tty.output().length;
    tty.type(`approve ${id}`);
    const approved = await tty.waitFor(
      /✅ bob approved r-\w+: revoke 2\.5 --reason "CVE-1" \(asked by alice\) runs as job (\w+)\./,
      before,
    );
    const jobId = /runs as job (\w+)\./.exec(approved)?.[1] ?? '';
    await inRoom(new RegExp(`^✅ bob approved ${id}`), 'the approval told in the room');
    await inRoom(new RegExp(`^✅ revoke cernvm 2\\.5 · job ${jobId} · succeeded`), 'the revoke');

    await bob.chat('vmops@localhost', `approve ${id}`);
    const again = await bob.waitFor(
      (s) => s.attrs.type === 'chat' && body(s).includes('cannot be answered again'),
      'the second approve refused',
    );
    expect(body(again)).toMatch(
      new RegExp(`^${id} \\(revoke 2\\.5 --reason "CVE-1"\\) was already approved by bob`),
    );
    const revokes = alice.messagesFrom(fromVmops).filter((s) => /^▶️ revoke|^✅ revoke/.test(body(s)));
    expect(new Set(revokes.map((s) => /job (\w+)/.exec(body(s))?.[1]))).toEqual(new Set([jobId]));

    await alice.say(room, 'vmops: build 2.6 kvm');
    await inRoom(/^✅ build cernvm 2\.6 kvm · job \w+ · succeeded/, 'the second build');
    await alice.say(room, 'vmops: revoke 2.6');
    const second = await inRoom(/^⏳ revoke 2\.6/, 'the second request');
    const late = /Request (r-[a-z2-9]{6})\./.exec(body(second))?.[1] ?? '';
    const expired = await inRoom(
      new RegExp(`^⌛ ${late} \\(revoke 2\\.6, asked by alice\\) expired after 6 seconds`),
      'the expiry',
    );
    expect(body(expired)).toContain('nothing was done');
  }, 60_000);
});
