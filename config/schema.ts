// The schema of vmops configuration files (YAML). `src/app/config-load.ts` reads a file, substitutes
// ${ENV} references, and validates it here; any mismatch stops start-up with the file, the key and
// what is wrong. Durations are written like `90s`, `10m`, `2h`.
//
// Each section is defined by concern under config/sections/, each network's next to its adapter
// (adapters/<network>/config-schema.ts); this file composes them and checks across them.
import { z } from 'zod';
import { auditSchema } from './sections/audit.ts';
import { botSchema } from './sections/bot.ts';
import { cloudSchema } from './sections/clouds.ts';
import { crossCheck } from './sections/cross-checks.ts';
import { jobsSchema } from './sections/jobs.ts';
import { networksSchema } from './sections/networks.ts';
import { oncallSchema, personSchema } from './sections/people.ts';
import { policySchema } from './sections/policy.ts';
import { name } from './sections/primitives.ts';
import { formatSchema, hostSchema, productSchema } from './sections/products.ts';
import { redisSchema } from './sections/redis.ts';
import { scheduleSchema } from './sections/schedules.ts';
import { webSchema } from './sections/web.ts';

export type { CloudConfig } from './sections/clouds.ts';
export type { HostConfig, PackageSetConfig, ProductConfig, StepConfig } from './sections/products.ts';
export { stepSchema } from './sections/products.ts';
export type { ScheduleConfig } from './sections/schedules.ts';

export const configSchema = z
  .object({
    bot: botSchema,
    redis: redisSchema,
    /** Product used when a command names none. */
    defaultProduct: name,
    products: z
      .record(name, productSchema)
      .refine((p) => Object.keys(p).length > 0, 'needs at least one product'),
    formats: z.record(name, formatSchema),
    clouds: z.record(name, cloudSchema).default({}),
    /** SSH build hosts that steps may run on (`steps[].host`). */
    hosts: z.record(name, hostSchema).default({}),
    people: z.record(name, personSchema).default({}),
    /** Continuous builds: name → when and what to build and test. */
    schedules: z.record(name, scheduleSchema).default({}),
    policy: policySchema,
    /** Who is on call to approve requests: a weekly rota (an admin may override it with `oncall set`). */
    oncall: oncallSchema,
    /** The audit trail: every command, decision and state change, chained by hash. */
    audit: auditSchema,
    /** The web console (src/web/): jobs live, the catalog, approvals, workers, the audit trail, the download area. */
    web: webSchema,
    jobs: jobsSchema,
    networks: networksSchema,
  })
  .strict()
  .superRefine(crossCheck);

/** A validated configuration, with defaults filled in and durations in milliseconds. */
export type Config = z.output<typeof configSchema>;
