import { describe, expect, it } from 'vitest';
import { escapeText, replyBlocks, statusBlocks } from '../../../adapters/slack/blocks.ts';
import {
  accountId,
  normalizeClick,
  normalizeCommand,
  normalizeEvent,
  plainText,
  type SlackContext,
  userOfAccount,
} from '../../../adapters/slack/events.ts';
import type { JobStatusView } from '../../../src/types.ts';

const ctx: SlackContext = { botUserId: 'UBOT', botId: 'BBOT', homeTeam: 'THOME', now: 1_700_000_000_000 };
const envelope = { event_id: 'Ev1', team_id: 'THOME', event_time: 1_700_000_000 };

describe('slack events', () => {
  it('takes a mention: the bot mention stripped, the user id (not a name) as the account', () => {
    const result = normalizeEvent(
      {
        type: 'app_mention',
        user: 'U1',
        text: '<@UBOT> build 2.6 kvm &amp; more',
        ts: '1700000001.000100',
        channel: 'C1',
        team: 'THOME',
        // A username, as some payloads carry, never counts.
        ...({ username: 'bob' } as object),
      },
      envelope,
      ctx,
    );
    expect(result).toEqual({
      message: {
        eventId: 'Ev1',
        sender: { id: 'U1', displayName: 'U1', isBot: false, isSelf: false },
        target: { network: 'slack', room: 'C1', isDirect: false },
        text: 'build 2.6 kvm & more',
        mentioned: true,
        sentAt: 1_700_000_001_000,
      },
    });
  });

  it('qualifies users of another workspace with their team id', () => {
    expect(accountId('U2', 'TOTHER', 'THOME')).toBe('TOTHER:U2');
    expect(accountId('U2', 'THOME', 'THOME')).toBe('U2');
    expect(userOfAccount('TOTHER:U2')).toBe('U2');
    const result = normalizeEvent(
      {
        type: 'app_mention',
        user: 'U2',
        user_team: 'TOTHER',
        text: '<@UBOT> whoami',
        ts: '1.0',
        channel: 'C1',
      },
      envelope,
      ctx,
    );
    expect('message' in result && result.message.sender.id).toBe('TOTHER:U2');
  });

  it('keeps the thread of a message in a thread', () => {
    const result = normalizeEvent(
      { type: 'app_mention', user: 'U1', text: '<@UBOT> jobs', ts: '2.0', thread_ts: '1.0', channel: 'C1' },
      envelope,
      ctx,
    );
    expect('message' in result && result.message.target).toEqual({
      network: 'slack',
      room: 'C1',
      thread: '1.0',
      isDirect: false,
    });
  });

  it('takes direct messages, and drops subtypes, channel messages and bots', () => {
    const dm = normalizeEvent(
      { type: 'message', channel_type: 'im', user: 'U1', text: 'jobs', ts: '1.0', channel: 'D1' },
      envelope,
      ctx,
    );
    expect('message' in dm && dm.message.target.isDirect).toBe(true);
    expect('message' in dm && dm.message.mentioned).toBe(false);
    const edited = normalizeEvent(
      { type: 'message', subtype: 'message_changed', channel_type: 'im', channel: 'D1', text: 'x' },
      envelope,
      ctx,
    );
    expect(edited).toEqual({ drop: 'subtype message_changed' });
    const botMessage = normalizeEvent(
      { type: 'message', subtype: 'bot_message', bot_id: 'B2', channel_type: 'im', channel: 'D1', text: 'x' },
      envelope,
      ctx,
    );
    expect('drop' in botMessage).toBe(true);
    const inChannel = normalizeEvent(
      { type: 'message', channel_type: 'channel', user: 'U1', text: 'build', ts: '1.0', channel: 'C1' },
      envelope,
      ctx,
    );
    expect(inChannel).toEqual({ drop: 'message outside a DM' });
    const fromBot = normalizeEvent(
      { type: 'app_mention', user: 'U3', bot_id: 'B3', text: '<@UBOT> build', ts: '1.0', channel: 'C1' },
      envelope,
      ctx,
    );
    expect('message' in fromBot && fromBot.message.sender.isBot).toBe(true);
    const own = normalizeEvent(
      {
        type: 'message',
        channel_type: 'im',
        user: 'UBOT',
        bot_id: 'BBOT',
        text: 'x',
        ts: '1.0',
        channel: 'D1',
      },
      envelope,
      ctx,
    );
    expect('message' in own && own.message.sender.isSelf).toBe(true);
  });

  it('shows links and mentions by label, and tells a leading bot mention', () => {
    expect(plainText('<@UBOT>: deploy 2.6 <#C1|prod> <https://x.org|x>', 'UBOT')).toEqual({
      text: 'deploy 2.6 prod x',
      mentioned: true,
    });
    expect(plainText('hi <@U9> &lt;b&gt;', 'UBOT')).toEqual({ text: 'hi @U9 <b>', mentioned: false });
  });

  it('takes a slash command with its trigger_id as the event id', () => {
    const result = normalizeCommand(
      {
        command: '/vmops',
        text: 'build 2.6 kvm',
        user_id: 'U1',
        team_id: 'THOME',
        channel_id: 'C1',
        channel_name: 'ops',
        trigger_id: '123.456.abc',
      },
      ctx,
    );
    expect('message' in result && result.message).toMatchObject({
      eventId: 'command:123.456.abc',
      sender: { id: 'U1' },
      target: { room: 'C1', isDirect: false },
      text: 'build 2.6 kvm',
      mentioned: true,
    });
  });

  it('turns a click on a vmops button into the clicking user saying its command', () => {
    const result = normalizeClick(
      {
        type: 'block_actions',
        user: { id: 'U2', team_id: 'THOME' },
        trigger_id: 't-1',
        channel: { id: 'D2' },
        actions: [{ action_id: 'vmops_action_0', value: 'approve r-abc234', action_ts: '1700000002.5' }],
      },
      ctx,
    );
    expect('message' in result && result.message).toMatchObject({
      eventId: 'click:t-1',
      sender: { id: 'U2', isBot: false },
      target: { room: 'D2', isDirect: true },
      text: 'approve r-abc234',
      mentioned: true,
    });
    const other = normalizeClick(
      {
        type: 'block_actions',
        user: { id: 'U2' },
        channel: { id: 'C1' },
        actions: [{ action_id: 'x', value: 'y' }],
      },
      ctx,
    );
    expect(other).toEqual({ drop: 'not a vmops button' });
  });
});

describe('slack blocks', () => {
  const view: JobStatusView = {
    jobId: 'abc123',
    stage: 'build',
    product: 'cernvm',
    version: '2.6',
    format: 'kvm',
    state: 'running',
    step: 2,
    steps: 3,
    stepName: 'assemble',
    percent: 40,
    message: '<!channel> look <@U1>',
    requestedBy: 'alice <script>',
    createdAt: 0,
    startedAt: 1000,
    attempts: 1,
  };

  it('draws the job card with every field, escaping what comes from outside', () => {
    const json = JSON.stringify(statusBlocks(view, 13_000));
    for (const part of ['*State*', ':arrow_forward: running', '*Format*\\nkvm', '*Step*\\n2/3 assemble']) {
      expect(json).toContain(part);
    }
    expect(json).toContain('[####......] 40%');
    expect(json).toContain('*Duration*\\n0:12');
    expect(json).toContain('&lt;!channel&gt; look &lt;@U1&gt;');
    expect(json).toContain('alice &lt;script&gt;');
    expect(json).not.toContain('<!channel>');
  });

  it('draws buttons for actions, and no blocks for plain replies', () => {
    expect(replyBlocks({ text: 'hello', tone: 'info' }, 0)).toBeUndefined();
    const blocks = replyBlocks(
      {
        text: 'approve?',
        tone: 'info',
        actions: [
          { label: 'Approve', command: 'approve r-1', style: 'primary' },
          { label: 'Deny', command: 'deny r-1', style: 'danger' },
        ],
      },
      0,
    );
    expect(blocks?.[1]).toEqual({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: 'vmops_action_0',
          text: { type: 'plain_text', text: 'Approve' },
          value: 'approve r-1',
          style: 'primary',
        },
        {
          type: 'button',
          action_id: 'vmops_action_1',
          text: { type: 'plain_text', text: 'Deny' },
          value: 'deny r-1',
          style: 'danger',
        },
      ],
    });
    expect(escapeText('a & <b>')).toBe('a &amp; &lt;b&gt;');
  });
});
