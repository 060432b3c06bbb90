// What the Matrix adapter sends: an `@room` a person typed, echoed back, cannot notify the room, in
// a new notice or in an edit, and no notice claims to mention anyone.
import { describe, expect, it } from 'vitest';
import { editContent, neutralizeMentions, noticeContent } from '../../../adapters/matrix/events.ts';

/** Synapse's legacy `.m.rule.roomnotif`: `content.body` matches the glob `@room` (a whole word). */
const notifiesRoom = (body: unknown) => /(^|\W)@room(\W|$)/i.test(String(body));

describe('matrix notices', () => {
  const reply = { tone: 'error' as const, text: "unknown format '@room': try kvm. @ROOM too" };

  it('cannot notify the room with an echoed @room, in a notice or its edit', () => {
    const notice = noticeContent(reply);
    expect(notifiesRoom(notice.body)).toBe(false);
    expect(notifiesRoom(notice.formatted_body)).toBe(false);
    expect(notice['m.mentions']).toEqual({});
    const edit = editContent('$e', reply);
    const fresh = edit['m.new_content'] as Record<string, unknown>;
    expect(notifiesRoom(edit.body)).toBe(false);
    expect(notifiesRoom(fresh.body)).toBe(false);
    expect(notifiesRoom(fresh.formatted_body)).toBe(false);
  });

  it('still reads the same: only an invisible word joiner is added', () => {
    expect(neutralizeMentions('@room').replace('\u2060', '')).toBe('@room');
    expect(neutralizeMentions('mail me at ops@roomservice.org')).toBe('mail me at ops@roomservice.org');
  });
});
