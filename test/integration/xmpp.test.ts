// The XMPP adapter against a real Prosody on loopback, driven through second real XMPP connections
// (alice, mallory): commands in rooms and direct messages, identity from real JIDs only, no history
// replays, deduplication of a resent stanza, the anonymous-room notice, and a server restart mid-job.
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Element, xml } from '@xmpp/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Prosody, startProsody } from '../helpers/prosody.ts';
import { until } from '../helpers/until.ts';
import { body, fromBot, NS_DELAY, newRoom, PASSWORD, Person, replaces, startBot } from '../helpers/xmpp.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('xmpp adapter against Prosody', () => {
  let prosody: Prosody;
  beforeAll(async () => {
    prosody = await startProsody();
    for (const name of ['vmops', 'alice', 'bob', 'mallory']) prosody.register(name, PASSWORD);
  });
  afterAll(async () => {
    await prosody?.stop();
  });

  const person = async (name: string) => {
    const p = await Person.online(prosody, name);
    cleanups.push(() => p.stop());
    return p;
  };
  const bot = async (options: Parameters<typeof startBot>[1]) => {
    const b = await startBot(prosody, options);
    cleanups.push(() => b.stop());
    return b;
  };

  it("runs an operator's command said in a room and corrects its status message to the final state", async () => {
    const room = newRoom(prosody.muc);
    const alice = await person('alice');
    await alice.join(room, 'Alice');
    const vmops = await bot({ rooms: [room] });
    await alice.say(room, 'vmops: build 2.6 kvm');
    const first = await alice.waitFor(
      (s) =>
        fromBot(room)(s.attrs.from ?? '') && /build cernvm 2\.6 kvm · job /.test(body(s)) && !replaces(s),
      'the status message',
    );
    const final = await alice.waitFor(
      (s) =>
        fromBot(room)(s.attrs.from ?? '') &&
        replaces(s) === first.attrs.id &&
        /^✅ .*succeeded/.test(body(s)),
      'the final correction',
    );
    expect(body(final)).toMatch(/^✅ build cernvm 2\.6 kvm · job \w+ · succeeded in \d+:\d\d/);
    // Every correction names the first message, and nothing else came from the bot.
    const fromVmops = alice.messagesFrom(fromBot(room));
    expect(fromVmops[0]).toBe(first);
    for (const correction of fromVmops.slice(1)) expect(replaces(correction)).toBe(first.attrs.id);
    const [run] = vmops.handled;
    expect(run?.message.sender).toMatchObject({ id: 'alice@localhost', displayName: 'Alice', isSelf: false });
    expect(run?.result.jobs).toHaveLength(1);
  });

  it('refuses mallory speaking under the nick alice, and runs nothing', async () => {
    const room = newRoom(prosody.muc);
    const mallory = await person('mallory');
    await mallory.join(room, 'alice');
    const vmops = await bot({ rooms: [room] });
    await mallory.say(room, 'vmops: build 2.6 kvm');
    const refusal = await mallory.waitFor(
      (s) => fromBot(room)(s.attrs.from ?? '') && /guest/.test(body(s)),
      'the refusal',
    );
    expect(body(refusal)).toContain('xmpp account mallory@localhost is not listed');
    const handled = await vmops.handledWhere((m) => m.text === 'build 2.6 kvm', 'the command');
    expect(handled.message.sender.id).toBe('mallory@localhost');
    expect(handled.result).toEqual({ outcome: 'refused', jobs: [] });
  });

  it('does not run a command said in the room before it joined (history)', async () => {
    const room = newRoom(prosody.muc);
    const alice = await person('alice');
    await alice.join(room, 'Alice');
    await alice.say(room, 'vmops: build 2.6 kvm');
    await alice.waitFor((s) => body(s) === 'vmops: build 2.6 kvm', 'the echo of the old command');
    const vmops = await bot({ rooms: [room] });
    await alice.say(room, 'vmops: jobs');
    await vmops.handledWhere((m) => m.text === 'jobs', 'the live command');
    expect(vmops.handled.map((h) => h.message.text)).toEqual(['jobs']);
    expect(vmops.handled.flatMap((h) => h.result.jobs)).toEqual([]);
  });

  it('answers a direct message, with corrections in the chat', async () => {
    const alice = await person('alice');
    const vmops = await bot({ rooms: [] });
    await alice.chat('vmops@localhost', 'build 2.6 kvm');
    const first = await alice.waitFor(
      (s) =>
        s.attrs.from?.startsWith('vmops@localhost/') === true && /build cernvm 2\.6 kvm · job /.test(body(s)),
      'the status message in the chat',
    );
    expect(first.attrs.type).toBe('chat');
    const final = await alice.waitFor(
      (s) => replaces(s) === first.attrs.id && /^✅/.test(body(s)),
      'the final correction in the chat',
    );
    expect(final.attrs.type).toBe('chat');
    const [run] = vmops.handled;
    expect(run?.message.target).toEqual({ network: 'xmpp', room: 'alice@localhost', isDirect: true });
    expect(run?.message.sender.id).toBe('alice@localhost');
  });

  it('runs a delayed message that is still young, and ignores an old one, telling the room or chat once', async () => {
    const room = newRoom(prosody.muc);
    const alice = await person('alice');
    await alice.join(room, 'Alice');
    const vmops = await bot({ rooms: [room] });
    const stamp = (ago: number) =>
      xml('delay', { xmlns: NS_DELAY, stamp: new Date(Date.now() - ago).toISOString() });
    const old = vmops.config.bot.maxMessageAge + 60_000;
    await alice.say(room, 'vmops: build 2.8 kvm', {}, stamp(old));
    await alice.chat('vmops@localhost', 'build 2.8 kvm', {}, stamp(old));
    await alice.say(room, 'vmops: images', {}, stamp(1000));
    await alice.say(room, 'vmops: jobs');
    await alice.chat('vmops@localhost', 'jobs');
    await vmops.handledWhere((m) => m.text === 'jobs' && m.target.isDirect, 'the direct command after');
    await vmops.handledWhere((m) => m.text === 'jobs' && !m.target.isDirect, 'the room command after');
    await vmops.handledWhere((m) => m.text === 'images', 'the young delayed command');
    // Only what this test said counts: the shared vmops account may get an earlier test's direct message
    // from Prosody's offline storage, young, whose claim lives under that test's Redis prefix.
    const ours = new Set(['build 2.8 kvm', 'images', 'jobs']);
    const handled = vmops.handled.filter((h) => ours.has(h.message.text));
    expect(handled.map((h) => h.message.text).sort()).toEqual(['images', 'jobs', 'jobs']);
    const notice =
      /^I was away; I ignored 1 command\(s\) sent before I came back: "build 2\.8 kvm" \(alice@localhost\)/;
    await alice.waitFor(
      (s) => fromBot(room)(s.attrs.from ?? '') && notice.test(body(s)),
      'the notice in the room',
    );
    await alice.waitFor(
      (s) => s.attrs.from?.startsWith('vmops@localhost/') === true && notice.test(body(s)),
      'the notice in the direct chat',
    );
    expect(handled.flatMap((h) => h.result.jobs)).toEqual([]);
  });

  it('runs a stanza sent twice with the same id once', async () => {
    const room = newRoom(prosody.muc);
    const alice = await person('alice');
    await alice.join(room, 'Alice');
    const vmops = await bot({ rooms: [room] });
    const id = `dup-${Date.now()}`;
    await alice.say(room, 'vmops: build 2.6 kvm', { id });
    await alice.say(room, 'vmops: build 2.6 kvm', { id });
    await alice.say(room, 'vmops: jobs');
    await vmops.handledWhere((m) => m.text === 'jobs', 'the command after');
    await vmops.handledWhere((m) => m.text === 'build 2.6 kvm', 'the build');
    const builds = vmops.handled.filter((h) => h.message.text === 'build 2.6 kvm');
    // Both copies reached the room (with different archive ids); the second, with the same event id,
    // is a duplicate to the intake and is never handled.
    expect(builds.map((h) => h.result.outcome)).toEqual(['done']);
    const echoes = alice.stanzas.filter((s) => s.attrs.id === id && s.name === 'message');
    const archiveIds = echoes.map((s) => s.getChild('stanza-id', 'urn:xmpp:sid:0')?.attrs.id);
    expect(new Set(archiveIds).size).toBe(2);
    await vmops.core.notifier.whenSettled(builds.flatMap((h) => h.result.jobs));
    const statusMessages = alice
      .messagesFrom(fromBot(room))
      .filter((s) => !replaces(s) && /build cernvm 2\.6 kvm · job /.test(body(s)));
    expect(statusMessages).toHaveLength(1);
  });

  it('tells an anonymous room once why it refuses commands there, and refuses them', async () => {
    const room = newRoom(prosody.anonMuc);
    const alice = await person('alice');
    // alice creates the room (owner, so moderator); the bot joins as a participant and sees no real JIDs.
    await alice.join(room, 'alice');
    const vmops = await bot({ rooms: [room] });
    await alice.say(room, 'vmops: build 2.6 kvm');
    await alice.say(room, 'vmops: build 2.6 vmware');
    await vmops.handledWhere((m) => m.text === 'build 2.6 vmware', 'the second command');
    const fromVmops = () => alice.messagesFrom(fromBot(room)).map(body);
    await alice.waitFor(
      (s) =>
        fromBot(room)(s.attrs.from ?? '') &&
        /guest/.test(body(s)) &&
        fromVmops().filter((t) => /guest/.test(t)).length === 2,
      'two refusals',
    );
    const notices = fromVmops().filter((t) => t.includes('cannot see who sends commands'));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('non-anonymous');
    // The notice comes before the first refusal.
    expect(fromVmops()[0]).toBe(notices[0]);
    // The bot's own messages come back from the room too: marked as its own, and ignored.
    for (const h of vmops.handled) {
      if (h.message.sender.isSelf) {
        expect(h.result).toEqual({ outcome: 'ignored', jobs: [] });
        continue;
      }
      expect(h.message.sender.id).toBe(`${room}/alice`);
      expect(h.result).toEqual({ outcome: 'refused', jobs: [] });
    }
    expect(vmops.handled.filter((h) => !h.message.sender.isSelf)).toHaveLength(2);
  });
});

describe('xmpp adapter across a Prosody restart', () => {
  let prosody: Prosody;
  let gateDir: string;
  beforeAll(async () => {
    prosody = await startProsody();
    for (const name of ['vmops', 'alice']) prosody.register(name, PASSWORD);
    gateDir = mkdtempSync(join(tmpdir(), 'vmops-xmpp-gate-'));
  });
  afterAll(async () => {
    await prosody?.stop();
    rmSync(gateDir, { recursive: true, force: true });
  });

  it('comes back after the server restarts mid-job, rejoins, and delivers the final state once', async () => {
    const gate = join(gateDir, 'open');
    const room = newRoom(prosody.muc);
    const alice = await Person.online(prosody, 'alice');
    cleanups.push(() => alice.stop());
    await alice.join(room, 'Alice');
    const vmops = await startBot(prosody, {
      rooms: [room],
      buildSteps: [
        {
          name: 'gate',
          run: ['/bin/sh', '-c', 'while [ ! -e "$GATE" ]; do sleep 0.05; done'],
          env: { GATE: gate },
        },
      ],
    });
    cleanups.push(() => vmops.stop());
    await alice.say(room, 'vmops: build 2.6 kvm');
    const first = await alice.waitFor(
      (s) =>
        fromBot(room)(s.attrs.from ?? '') && /build cernvm 2\.6 kvm · job /.test(body(s)) && !replaces(s),
      'the status message',
    );
    await alice.waitFor((s) => replaces(s) === first.attrs.id && /gate/.test(body(s)), 'the running state');
    const { result } = await vmops.handledWhere((m) => m.text === 'build 2.6 kvm', 'the command');
    expect(result.jobs).toHaveLength(1);

    const offline = once(vmops.adapter, 'offline');
    await prosody.kill();
    await offline;
    await alice.stop();
    // The job ends while the server is down: its final state waits in the bot's outbox (the
    // notifier's delivery of it settles only once it has gone out, after the restart).
    writeFileSync(gate, '');
    const [job = ''] = result.jobs;
    await until(async () => (await vmops.core.jobs.get(job))?.state === 'succeeded', {
      what: 'the job to end',
    });
    await until(() => vmops.core.outbox.pending > 0, { what: 'the final state to wait in the outbox' });
    const settled = vmops.core.notifier.whenSettled(result.jobs);

    const rejoined = once(vmops.adapter, 'joined');
    await prosody.start();
    await rejoined;
    expect(vmops.adapter.joinedRooms()).toEqual([room]);

    // alice comes back too, and reads the room's history as well as what comes live.
    const again = await Person.online(prosody, 'alice');
    cleanups.push(() => again.stop());
    await again.join(room, 'Alice', 'all');
    await again.waitFor(
      (s) => fromBot(room)(s.attrs.from ?? '') && replaces(s) === first.attrs.id && /^✅/.test(body(s)),
      'the final state after the restart',
    );
    // A command after it: everything the bot sent before its answer has arrived by then.
    await again.say(room, 'vmops: status nosuchjob');
    await again.waitFor(
      (s) => fromBot(room)(s.attrs.from ?? '') && /nosuchjob/.test(body(s)),
      'the answer to status',
    );
    const finals = again.messagesFrom(fromBot(room)).filter((s) => /^✅/.test(body(s)));
    expect(finals).toHaveLength(1);
    expect(replaces(finals[0] as Element)).toBe(first.attrs.id);
    await settled;
    // The answer is acknowledged by the server a moment after alice reads it; then nothing waits.
    await until(() => vmops.core.outbox.pending === 0, { what: 'the outbox to empty' });
  });
  it('sends what was said while the server restarted once it is back, once each, in order, with a status message’s corrections collapsed to the newest', async () => {
    const room = newRoom(prosody.muc);
    const alice = await Person.online(prosody, 'alice');
    cleanups.push(() => alice.stop());
    await alice.join(room, 'Alice');
    const vmops = await startBot(prosody, { rooms: [room] });
    cleanups.push(() => vmops.stop());
    const target = { network: 'xmpp', room, isDirect: false };
    const status = await vmops.core.outbox.send(
      target,
      { tone: 'info', text: 'status: queued' },
      { priority: 'progress' },
    );
    await alice.waitFor(
      (s) => fromBot(room)(s.attrs.from ?? '') && body(s) === 'status: queued',
      'the status',
    );

    const offline = once(vmops.adapter, 'offline');
    await prosody.kill();
    await offline;
    await alice.stop();
    // Said while the server is away: replies, and three corrections of the status message.
    const sent = ['first while away', 'second while away', 'third while away'].map((text) =>
      vmops.core.outbox.send(target, { tone: 'info', text }),
    );
    const edits = ['status: step 1/3', 'status: step 2/3', 'status: ✅ done'].map((text) =>
      vmops.core.outbox.edit(status, { tone: 'info', text }),
    );
    await until(() => vmops.core.outbox.pending === 4, {
      what: 'three replies and one merged correction waiting',
    });

    const rejoined = once(vmops.adapter, 'joined');
    await prosody.start();
    await rejoined;
    await Promise.all([...sent, ...edits]);
    const again = await Person.online(prosody, 'alice');
    cleanups.push(() => again.stop());
    await again.join(room, 'Alice', 'all');
    await again.waitFor(
      (s) => fromBot(room)(s.attrs.from ?? '') && replaces(s) === status.id,
      'the status correction',
    );
    await again.waitFor(
      (s) => fromBot(room)(s.attrs.from ?? '') && body(s) === 'third while away',
      'the last reply',
    );
    const fromVmops = again.messagesFrom(fromBot(room));
    // (The status message itself may come back in the room's history, from before the restart.)
    expect(
      fromVmops
        .filter((s) => !replaces(s))
        .map(body)
        .filter((text) => text !== 'status: queued'),
    ).toEqual(['first while away', 'second while away', 'third while away']);
    expect(fromVmops.filter((s) => replaces(s) === status.id).map(body)).toEqual(['status: ✅ done']);
  });
});
