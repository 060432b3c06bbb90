// The rota: who is on call at an instant, across hand-overs, time zones and daylight-saving changes.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../config/schema.ts';
import { shiftsAt, showTime } from '../../../src/oncall/rota.ts';

const rota = (over: Partial<Config['oncall']> = {}): Config['oncall'] => ({
  rota: ['bob', 'dave', 'erin'],
  handover: { day: 'monday', time: '09:00' },
  timezone: 'Europe/Zurich',
  weeks: 1,
  start: '2026-01-05',
  ...over,
});
const at = (iso: string) => new Date(iso).getTime();
const who = (config: Config['oncall'], iso: string) => shiftsAt(config, at(iso))?.current.person;

describe('on-call rota', () => {
  it('hands over weekly at the configured local time', () => {
    const config = rota();
    // Monday 5 January 2026, 09:00 in Zurich is 08:00 UTC.
    expect(who(config, '2026-01-05T07:59:00Z')).toBe('erin'); // the shift before the start
    expect(who(config, '2026-01-05T08:00:00Z')).toBe('bob');
    expect(who(config, '2026-01-12T07:59:59Z')).toBe('bob');
    expect(who(config, '2026-01-12T08:00:00Z')).toBe('dave');
    expect(who(config, '2026-01-19T08:00:00Z')).toBe('erin');
    expect(who(config, '2026-01-26T08:00:00Z')).toBe('bob');
  });

  it('follows the local hand-over time across a daylight-saving change', () => {
    const config = rota();
    // Summer time from 29 March 2026: Monday 30 March 09:00 in Zurich is 07:00 UTC.
    const before = who(config, '2026-03-30T06:59:00Z');
    const after = who(config, '2026-03-30T07:00:00Z');
    expect(after).not.toBe(before);
    const shift = shiftsAt(config, at('2026-03-30T07:00:00Z'));
    expect(showTime(shift?.current.from ?? 0, 'Europe/Zurich')).toBe('Mon 30 Mar 09:00 Europe/Zurich');
    expect(showTime(shift?.current.until ?? 0, 'Europe/Zurich')).toBe('Mon 6 Apr 09:00 Europe/Zurich');
  });

  it('says who is next and when, with shifts of several weeks', () => {
    const config = rota({
      weeks: 2,
      rota: ['bob', 'dave'],
      handover: { day: 'wednesday', time: '17:30' },
      timezone: 'UTC',
    });
    const shifts = shiftsAt(config, at('2026-01-20T12:00:00Z'));
    // bob's first shift holds 5 January: it began Wednesday 31 December 2025, 17:30; dave's followed on 14 January.
    expect(shifts?.current).toEqual({
      person: 'dave',
      from: at('2026-01-14T17:30:00Z'),
      until: at('2026-01-28T17:30:00Z'),
    });
    expect(shifts?.next).toEqual({
      person: 'bob',
      from: at('2026-01-28T17:30:00Z'),
      until: at('2026-02-11T17:30:00Z'),
    });
  });

  it('has nobody on call without a rota', () => {
    expect(shiftsAt(rota({ rota: [] }), Date.now())).toBeUndefined();
  });
});
