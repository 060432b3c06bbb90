// Pure Matrix event handling: identity, addressing by pill, HTML escaping, edit content.
import { describe, expect, it } from 'vitest';
import {
  editContent,
  escapeHtml,
  normalizeEvent,
  noticeContent,
  stripMention,
  stripReplyFallback,
} from '../../../adapters/matrix/events.ts';

const BOT = '@vmops:example.org';
const ctx = {
  ownId: BOT,
  roomId: '!room:example.org',
  isDirect: false,
  senderName: 'alice',
  ownNames: ['vmops'],
};
const event = (content: Record<string, unknown>, extra = {}) => ({
  event_id: '$e1',
  type: 'm.room.message',
  sender: '@mallory:example.org',
  origin_server_ts: 1000,
  content: { msgtype: 'm.text', ...content },
  ...extra,
});

describe('matrix events', () => {
  it('takes the sender from the user id the homeserver stamped, the display name only for show', () => {
    const result = normalizeEvent(event({ body: 'vmops: build 2.5 kvm' }), ctx);
    expect(result).toMatchObject({
      message: {
        eventId: '$e1',
        sender: { id: '@mallory:example.org', displayName: 'alice', isSelf: false, isBot: false },
        target: { network: 'matrix', room: '!room:example.org', isDirect: false },
        text: 'vmops: build 2.5 kvm',
        mentioned: false,
        sentAt: 1000,
      },
    });
  });

  it('drops edits, notices, other types and empty bodies; keeps threads', () => {
    expect(
      normalizeEvent(event({ body: 'x', 'm.relates_to': { rel_type: 'm.replace', event_id: '$a' } }), ctx),
    ).toEqual({
      drop: 'an edit',
    });
    expect(normalizeEvent(event({ msgtype: 'm.notice', body: '!build' }), ctx)).toEqual({
      drop: 'msgtype m.notice',
    });
    expect(normalizeEvent(event({ body: '  ' }), ctx)).toEqual({ drop: 'no body' });
    expect(normalizeEvent({ ...event({ body: 'x' }), type: 'm.room.encrypted' }, ctx)).toEqual({
      drop: 'type m.room.encrypted',
    });
    const threaded = normalizeEvent(
      event({ body: '!jobs', 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } }),
      ctx,
    );
    expect(threaded).toMatchObject({ message: { target: { thread: '$root' } } });
    expect(normalizeEvent(event({ body: '!jobs' }, { sender: BOT }), ctx)).toMatchObject({
      message: { sender: { isSelf: true } },
    });
  });

  it('strips a leading pill (whatever name it shows) or the user id, and only at the start', () => {
    const pill = {
      formatted_body: `<a href="https://matrix.to/#/${encodeURIComponent(BOT)}">Image Bot</a>: build 2.5`,
    };
    expect(stripMention('Image Bot: build 2.5', pill, BOT, ['vmops'])).toEqual({
      text: 'build 2.5',
      mentioned: true,
    });
    expect(stripMention(`${BOT} jobs`, {}, BOT, ['vmops'])).toEqual({ text: 'jobs', mentioned: true });
    // A pill to someone else, or a name without a pill: not a mention (addressing.ts reads `vmops:` itself).
    const other = { formatted_body: '<a href="https://matrix.to/#/@vmops:evil.org">vmops</a>: build' };
    expect(stripMention('vmops: build', other, BOT, ['vmops'])).toEqual({
      text: 'vmops: build',
      mentioned: false,
    });
    expect(stripMention('ask vmops later', { 'm.mentions': { user_ids: [BOT] } }, BOT, ['vmops'])).toEqual({
      text: 'ask vmops later',
      mentioned: false,
    });
  });

  it('drops the quoted fallback of a rich reply', () => {
    expect(stripReplyFallback('> <@a:b> old\n> more\n\n!jobs')).toBe('!jobs');
    expect(stripReplyFallback('!jobs')).toBe('!jobs');
  });

  it('escapes everything in the HTML body and edits with m.replace and m.new_content', () => {
    expect(escapeHtml(`<script>"&'</script>`)).toBe('&lt;script&gt;&quot;&amp;&#39;&lt;/script&gt;');
    const notice = noticeContent({ text: 'a <b>\nb', tone: 'info' }, '$root');
    expect(notice).toMatchObject({
      msgtype: 'm.notice',
      body: 'a <b>\nb',
      format: 'org.matrix.custom.html',
      formatted_body: 'a &lt;b&gt;<br>b',
      'm.relates_to': { rel_type: 'm.thread', event_id: '$root' },
    });
    expect(editContent('$s', { text: 'done <ok>', tone: 'ok' })).toEqual({
      msgtype: 'm.notice',
      body: '* done <ok>',
      format: 'org.matrix.custom.html',
      formatted_body: '* done &lt;ok&gt;',
      'm.new_content': {
        msgtype: 'm.notice',
        body: 'done <ok>',
        format: 'org.matrix.custom.html',
        formatted_body: 'done &lt;ok&gt;',
        'm.mentions': {},
      },
      'm.mentions': {},
      'm.relates_to': { rel_type: 'm.replace', event_id: '$s' },
    });
  });
});
