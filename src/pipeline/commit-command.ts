// A command of one job ends in one script: the script that queues the job also appends the command's
// audit entry, releases its event's claim (and acknowledges its intake entry) and reserves the job's
// status message. Either all of it happens or none: the audit step goes first and refuses when the
// chain's head moved (the trail computes the entry again on the new head and the whole script runs
// again), and nothing is written when the queueing refuses (another event's id, a busy image), so the
// pipeline goes on as for any command: its own audit entry and release after the refusal's reply.
import type { AuditFact, AuditTrail } from '../audit/audit-trail.ts';
import type { SubmitCommit } from '../grammar/command-spec.ts';
import type { QueueOutcome, QueueStep } from '../queue/queue-job.ts';
import type { JobData } from '../types.ts';

/** The status message's reservation as a step, and what to do once its script ran or did not. */
export interface ReservationInScript {
  step: QueueStep;
  /** The script ran it: `reserved` is what it answered (false: another instance reserved it first). */
  reserved(reserved: boolean): void;
  /** The script did not run it. */
  dropped(): void;
}

export interface CommandCommit extends SubmitCommit {
  /** The job whose script wrote the command's end, once one did. */
  readonly committed: string | undefined;
}

export function commitCommand(parts: {
  audit: AuditTrail;
  /** The command's audit entry, done with this job. */
  fact(jobId: string): AuditFact;
  /** The release of the event's claim. */
  release: QueueStep;
  /** The reservation of the status message of the job `data` (as it is queued). */
  reserve(jobId: string, data: JobData): ReservationInScript;
}): CommandCommit {
  let committed: string | undefined;
  return {
    get committed() {
      return committed;
    },
    async attempt(jobId, queueing) {
      const reservation = parts.reserve(jobId, queueing.data);
      let outcome: QueueOutcome | undefined;
      try {
        outcome = await parts.audit.appendIn<QueueOutcome>(parts.fact(jobId), (append) => {
          const call = queueing.withSteps([{ ...append, guard: true }, parts.release, reservation.step]);
          return {
            ...call,
            answer(result) {
              const queued = call.outcome(result);
              if (queued.refused === 'step') return { appended: queued.result, value: queued };
              if (queued.refused) return { value: queued };
              return { appended: queued.results[0], value: queued };
            },
          };
        });
      } finally {
        if (!outcome || outcome.refused) reservation.dropped();
      }
      if (!outcome.refused) {
        committed = jobId;
        reservation.reserved(outcome.results[2] === 1);
      }
      return outcome;
    },
  };
}
