// Two bot instances bursting into one channel, through the real SDK against the local Slack, which
// enforces Slack's documented limits (chat.postMessage 1/s per channel, chat.update 50/min per
// workspace): every command runs once, every job's card reaches its final state, and Slack never has
// to answer 429, because the instances' pacing is shared in Redis. The one-instance bursts (30 into a
// Slack channel, 20 into a Matrix room) are asserted whole, intake and outbox together, in
// intake-slack.test.ts and intake-matrix.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { type MatrixRig, SLACK_CHANNEL, SLACK_USERS, SlackRig } from '../helpers/chat-rigs.ts';
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
});
