// Policy: who may run a command (overrides of each command's default access), and which commands wait
// for an approval, who may give it and for how long.
import { z } from 'zod';
import { duration, name } from './primitives.ts';

const access = z.enum(['viewer', 'operator', 'approver', 'admin', 'known', 'anyone']);

export const approvalsSchema = z
  .object({
    /** `revoke` always waits for an approval. */
    revoke: z.boolean().default(true),
    /** `deploy` to a cloud with one of these tags waits for an approval. */
    deployTags: z.array(name).default(['production']),
    /** `publish` of a version older than the newest one of its product waits for an approval. */
    publishOlder: z.boolean().default(true),
    /** Further commands that always wait for an approval, e.g. [update]. */
    always: z.array(name).default([]),
    /**
     * Who may approve: `approvers` (anyone with the approver role, and the person on call) or `oncall`
     * (only the person on call, and those a request was escalated to). Never the requester.
     */
    approvedBy: z.enum(['approvers', 'oncall']).default('approvers'),
    /** An unanswered request is cancelled after this long, and the room told. */
    expireAfter: duration.default(30 * 60_000),
    /** An unanswered request is sent on to the next approver after this long. */
    escalateAfter: duration.default(10 * 60_000),
  })
  .strict()
  .prefault({});

/** The `policy` section. */
export const policySchema = z
  .object({
    /** Override who may run a command: `build: admin`. */
    commands: z.record(name, access).default({}),
    /** Which commands wait for an approval, who may give it, and for how long. */
    approvals: approvalsSchema,
  })
  .strict()
  .prefault({});

export type ApprovalsConfig = z.output<typeof approvalsSchema>;
