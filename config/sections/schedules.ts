// Continuous builds: when (cron, in a time zone) and what to build and test.
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { name, timezone } from './primitives.ts';

/** Five fields (minute hour day-of-month month day-of-week) or a nickname like @daily, checked by cron-parser. */
const cron = z.string().superRefine((value, ctx) => {
  const fields = value.trim().split(/\s+/).filter(Boolean);
  if (!(fields.length === 5 || (fields.length === 1 && fields[0]?.startsWith('@')))) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" has ${fields.length} field(s): write five (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"`,
    });
    return;
  }
  try {
    CronExpressionParser.parse(value);
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is not a cron expression: ${(error as Error).message}`,
    });
  }
});

export const scheduleSchema = z
  .object({
    /** When to run: a five-field cron expression, in `timezone` (default the bot's local time). */
    cron,
    timezone: timezone.optional(),
    /** What to build: a product from config, a version, and its formats (or [all]). */
    product: name,
    version: z.string().regex(/^\d+(\.\d+){1,3}$/, 'must be a version like 2.6 or 2.6.1'),
    formats: z.array(name).min(1),
    /** Stages to run, in order: tests run for the formats whose build succeeded. */
    stages: z
      .array(z.enum(['build', 'test']))
      .min(1)
      .default(['build', 'test']),
  })
  .strict();

export type ScheduleConfig = z.output<typeof scheduleSchema>;
