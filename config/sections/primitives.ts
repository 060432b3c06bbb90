// Building blocks of the configuration schema shared by its sections (and by the networks' schemas
// next to their adapters): names chosen by the user, durations, time zones.
import ms from 'ms';
import { z } from 'zod';

/** A name chosen in config: a product, format, cloud, host, person, schedule. */
export const name = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,39}$/, 'must be lower-case letters, digits, - or _, starting with a letter');

/** Seconds as a number, or `90s`, `10m`, `2h`; in milliseconds once validated. */
export const duration = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value * 1000;
  const parsed = ms(value as ms.StringValue);
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (write 30s, 10m, 2h)` });
    return z.NEVER;
  }
  return parsed;
});

/** An IANA time zone name. */
export const timezone = z.string().refine((value) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone, e.g. Europe/Zurich or UTC');
