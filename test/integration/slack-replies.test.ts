// How Slack shows vmops's answers, through the real @slack/bolt against the local Slack: a slash
// command in a private channel the bot is not in is answered there through its response_url (and
// its card edited to the final state); a refused slash command is shown to the person only; text a
// person typed shows as typed (no formatting, no @channel); a reply too long for a message goes whole
// into a file in its thread.
import { afterEach, describe, expect, it } from 'vitest';
import { SLACK_CHANNEL, SLACK_USERS, SlackRig } from '../helpers/chat-rigs.ts';
import type { FakeMessage } from '../helpers/slack-server.ts';

const undo: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of undo.splice(0).reverse()) await step();
});

const FAST = { perSecond: 50, burst: 50 };
const SECRET = 'G0SECRET';
const text = (m: FakeMessage) => m.versions.at(-1)?.text ?? '';

async function rig(options: { closed?: string[]; worker?: boolean } = {}): Promise<SlackRig> {
  const started = await SlackRig.start({
    fake: { postLimit: FAST, updateLimit: FAST, closedChannels: options.closed ?? [] },
    worker: options.worker ?? true,
  });
  undo.push(() => started.stop());
  return started;
}

describe('slack answers', () => {
  it('answers a slash command in a private channel the bot is not in through its response_url, to the final state', async () => {
    const r = await rig({ closed: [SECRET] });
    await r.addBot({ post: FAST, update: FAST }, { minEditIntervalMs: 50 });
    r.slack.slash(SLACK_USERS.alice, SECRET, 'build 2.6 kvm');
    const card = await r.slack.waitForMessage(SECRET, / · job \w+ · /, 'the card in the private channel');
    await r.slack.waitFor(() => (/ · succeeded/.test(text(card)) ? true : undefined), 'the final state');
    expect(r.slack.messagesIn(SECRET)).toHaveLength(1);
    // chat.postMessage could not reach the channel; nothing else was tried there.
    const posts = r.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === SECRET);
    expect(posts.map((c) => c.error)).toEqual(['channel_not_found']);
  }, 60_000);

  it('shows a refused slash command to the person only', async () => {
    const r = await rig({ worker: false });
    await r.addBot({ post: FAST, update: FAST });
    r.slack.slash(SLACK_USERS.carol, SLACK_CHANNEL, 'build 2.6 kvm'); // carol is a viewer
    const refusal = await r.slack.waitForEphemeral(SLACK_USERS.carol, /build needs the operator role/);
    expect(refusal.channel).toBe(SLACK_CHANNEL);
    expect(r.slack.messagesIn(SLACK_CHANNEL)).toEqual([]);
  }, 30_000);

  it('shows text a person typed as typed: no bold, no code, no @channel', async () => {
    const r = await rig({ worker: false });
    await r.addBot({ post: FAST, update: FAST });
    r.slack.mention(SLACK_USERS.alice, SLACK_CHANNEL, 'build 2.6 *kvm*');
    const bold = await r.slack.waitForMessage(SLACK_CHANNEL, /\*kvm\*/, 'the refusal naming *kvm*');
    const call = r.slack.calls.find((c) => c.method === 'chat.postMessage' && c.args.text === text(bold));
    expect(String(call?.args.mrkdwn)).toBe('false'); // a form field: Slack shows the stars
    r.slack.mention(SLACK_USERS.alice, SLACK_CHANNEL, 'build 2.6 <!channel>');
    const mention = await r.slack.waitForMessage(SLACK_CHANNEL, /channel/, 'the refusal naming <!channel>');
    // Echoed as the words the person saw, never as Slack's mention syntax.
    expect(text(mention)).toContain("'@channel'");
    expect(text(mention)).not.toMatch(/<!(channel|here|everyone)/);
  }, 30_000);

  it('puts a reply too long for one message whole into the file in its thread', async () => {
    const r = await rig({ worker: false });
    await r.addBot({ post: FAST, update: FAST }, { maxMessageLength: 1000, uploadOver: 400 });
    r.slack.mention(SLACK_USERS.alice, SLACK_CHANNEL, 'help');
    const short = await r.slack.waitForMessage(SLACK_CHANNEL, /the whole text is attached in the thread/);
    const total = Number(/\((\d+) characters in all/.exec(text(short))?.[1]);
    const file = await r.slack.waitFor(
      () => r.slack.messagesIn(SLACK_CHANNEL).find((m) => m.threadTs === short.ts && m.files.length > 0),
      'the file',
    );
    expect(total).toBeGreaterThan(1000);
    expect(file.files[0]?.content.length).toBe(total);
    expect(file.files[0]?.content).not.toMatch(/more characters not shown/);
  }, 30_000);
});
