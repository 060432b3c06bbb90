// People (their accounts on each network and their roles) and the on-call rota.
import { z } from 'zod';
import { name, timezone } from './primitives.ts';

const role = z.enum(['viewer', 'operator', 'approver', 'admin']);

const weekday = z.enum(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']);

export const oncallSchema = z
  .object({
    /** People on call in turn (person ids from `people`), each for `weeks` weeks. */
    rota: z.array(name).default([]),
    /** When one shift hands over to the next. */
    handover: z
      .object({
        day: weekday.default('monday'),
        time: z
          .string()
          .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time like 09:00')
          .default('09:00'),
      })
      .strict()
      .prefault({}),
    /** The time zone of the hand-over time. */
    timezone: timezone.default('UTC'),
    /** Length of a shift in weeks. */
    weeks: z.number().int().min(1).max(52).default(1),
    /** A date (YYYY-MM-DD) in the first shift of the first person of the rota; default 2026-01-05. */
    start: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like 2026-01-05')
      .default('2026-01-05'),
  })
  .strict()
  .prefault({});

export const personSchema = z
  .object({
    /** Accounts by network: shell login, Slack user id, Matrix user id, XMPP bare JID. */
    accounts: z.record(name, z.string().min(1)).default({}),
    roles: z.array(role).default([]),
  })
  .strict();

export type OncallConfig = z.output<typeof oncallSchema>;
export type PersonConfig = z.output<typeof personSchema>;
