// Bursts of commands into one room, through the real SDKs against the local Slack and Matrix, which
// enforce the platforms' documented limits (Slack: chat.postMessage 1/s per channel, chat.update
// 50/min per workspace; Synapse: 0.2/s with a burst of 10 per account): every command runs once,
// every job's status message reaches its final state, and the platform never has to answer 429,
// also with two bot instances sharing one channel (their pacing is shared in Redis).
import { afterEach, describe, expect, it } from 'vitest';
import { MatrixRig, SLACK_CHANNEL, SLACK_USERS, SlackRig } from '../helpers/chat-rigs.ts';
import type { FakeMessage } from '../helpers/slack-server.ts';

const undo: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of undo.splice(0).reverse()) await step();
});

const text = (m: FakeMessage) => m.versions.at(-1)?.text ?? '';

/** Status cards in a channel by job id (top-level messages naming a job). */
function cards(rig: SlackRig): Map<string, FakeMessage[]> {
  const found = new Map<string, FakeMessage[]>();
  for (const m of rig.slack.messagesIn(SLACK_CHANNEL)) {
    const job = / · job (\w+) · /.exec(text(m))?.[1];
    if (!job || m.threadTs) continue;
    found.set(job, [...(found.get(job) ?? []), m]);
  }
  return found;
}

/** Jobs of every handled command, checking that each command was handled exactly once. */
function jobsOnce(rig: SlackRig | MatrixRig, commands: number): string[] {
  const jobs = rig.handled().flatMap((h) => h.result.jobs ?? []);
  expect(new Set(jobs).size).toBe(commands);
  return jobs;
}

async function slackBurst(rig: SlackRig, count: number): Promise<string[]> {
  for (let i = 1; i <= count; i++) rig.slack.mention(SLACK_USERS.alice, SLACK_CHANNEL, `build 7.${i} kvm`);
  await rig.slack.waitFor(
    () => {
      const done = [...cards(rig).values()].filter((ms) => / · succeeded/.test(text(ms[0] as FakeMessage)));
      return done.length >= count || undefined;
    },
    `${count} final states`,
    240_000,
  );
  return jobsOnce(rig, count);
}

describe('outbox under a burst', () => {
  it('takes 30 commands in one Slack channel within a second: each runs once, each card is final, no 429', async () => {
    const rig = await SlackRig.start({ concurrency: 8 });
    undo.push(() => rig.stop());
    await rig.addBot();
    const jobs = await slackBurst(rig, 30);
    expect(jobs).toHaveLength(30);
    const all = cards(rig);
    expect(all.size).toBe(30);
    for (const ms of all.values()) expect(ms).toHaveLength(1); // one card per job, never posted twice
    expect(rig.slack.rateLimited).toBe(0);
    expect(rig.slack.earlyRetries).toBe(0);
    expect(rig.slack.calls.filter((c) => c.status !== 200 || c.error)).toEqual([]);
  }, 300_000);

  it('paces two Slack bot instances bursting into one channel as one: no 429', async () => {
    const rig = await SlackRig.start({ concurrency: 8 });
    undo.push(() => rig.stop());
    const [first, second] = [await rig.addBot(), await rig.addBot()];
    const jobs = await slackBurst(rig, 12);
    expect(jobs).toHaveLength(12);
    // Both instances answered some of the burst, so both posted into the channel.
    expect(first?.handled.length).toBeGreaterThan(0);
    expect(second?.handled.length).toBeGreaterThan(0);
    expect(rig.slack.rateLimited).toBe(0);
    for (const ms of cards(rig).values()) expect(ms).toHaveLength(1);
  }, 300_000);

  it('takes 20 commands in one Matrix room within a second at Synapse’s limit: each runs once, each status is final, no 429', async () => {
    const rig = await MatrixRig.start({ concurrency: 8 });
    undo.push(() => rig.stop());
    await rig.addBot();
    for (let i = 1; i <= 20; i++)
      rig.hs.act(rig.alice).send(rig.room, { msgtype: 'm.text', body: `!build 8.${i} kvm` });
    await rig.hs.waitForEvent(
      rig.room,
      () => rig.notices().filter((n) => / · succeeded/.test(n.body)).length >= 20,
      280_000,
    );
    const jobs = jobsOnce(rig, 20);
    for (const jobId of jobs) {
      expect(rig.notices().filter((n) => n.body.includes(`job ${jobId}`))).toHaveLength(1);
    }
    expect(rig.notices().some((n) => /I was away/.test(n.body))).toBe(false);
    expect(rig.hs.rateLimited).toBe(0);
  }, 300_000);
});
