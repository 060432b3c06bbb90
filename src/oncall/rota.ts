// The on-call rota from config: people take turns, each for `weeks` weeks, handing over on a weekday at
// a time of day in a time zone. Pure: who is on call at an instant, from when, until when, and who is
// next. Luxon does the calendar (time zones, daylight-saving changes).
import { DateTime } from 'luxon';
import type { Config } from '../../config/schema.ts';

export interface Shift {
  person: string;
  /** When the shift began (ms since epoch). */
  from: number;
  /** When it hands over (ms since epoch). */
  until: number;
}

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;

/** The latest hand-over instant at or before `at`. */
function handoverAtOrBefore(at: DateTime, oncall: Config['oncall']): DateTime {
  const [hour, minute] = oncall.handover.time.split(':').map(Number);
  const weekday = (WEEKDAYS.indexOf(oncall.handover.day) + 1) as 1 | 2 | 3 | 4 | 5 | 6 | 7;
  const candidate = at.set({ weekday, hour: hour ?? 0, minute: minute ?? 0, second: 0, millisecond: 0 });
  return candidate > at ? candidate.minus({ weeks: 1 }) : candidate;
}

/** The shift running at `at` and the one after it; undefined when the rota is empty. */
export function shiftsAt(oncall: Config['oncall'], at: number): { current: Shift; next: Shift } | undefined {
  const { rota, weeks, timezone } = oncall;
  if (rota.length === 0) return undefined;
  const anchor = handoverAtOrBefore(DateTime.fromISO(oncall.start, { zone: timezone }).endOf('day'), oncall);
  const last = handoverAtOrBefore(DateTime.fromMillis(at, { zone: timezone }), oncall);
  // Whole weeks between two hand-overs; rounding absorbs the hour a daylight-saving change adds or takes.
  const weeksSince = Math.round(last.diff(anchor, 'weeks').weeks);
  const shift = Math.floor(weeksSince / weeks);
  const person = (n: number) => rota[((n % rota.length) + rota.length) % rota.length] ?? '';
  const from = anchor.plus({ weeks: shift * weeks });
  const until = from.plus({ weeks });
  return {
    current: { person: person(shift), from: from.toMillis(), until: until.toMillis() },
    next: { person: person(shift + 1), from: until.toMillis(), until: until.plus({ weeks }).toMillis() },
  };
}

/** "Mon 1 Dec 09:00 Europe/Zurich": how hand-over times are shown. */
export function showTime(at: number, timezone: string): string {
  return `${DateTime.fromMillis(at, { zone: timezone }).toFormat('ccc d LLL HH:mm')} ${timezone}`;
}
