// Turns a BullMQ job (data, progress, state, failure) into the view a status message shows.
import { traceOf } from '../observability/trace.ts';
import type { JobData, JobProgress, JobState, JobStatusView } from '../types.ts';
import { decodeFailure } from './failure-reason.ts';

function isProgress(value: unknown): value is JobProgress {
  return typeof value === 'object' && value !== null && 'step' in value && 'percent' in value;
}

export function stateOf(bullState: string, failedReason: string | undefined): JobState {
  switch (bullState) {
    case 'active':
      return 'running';
    case 'completed':
      return 'succeeded';
    case 'failed':
      return decodeFailure(failedReason).code === 'cancelled' ? 'cancelled' : 'failed';
    default:
      return 'queued';
  }
}

/** What a status view reads of a job: a BullMQ `Job` has it, and so has a job read as its stored fields (`storedJob`). */
export interface JobFields {
  data: JobData;
  progress: unknown;
  failedReason?: string | undefined;
  processedOn?: number | undefined;
  finishedOn?: number | undefined;
  attemptsStarted?: number | undefined;
  attemptsMade?: number | undefined;
}

/** A job from the fields of its BullMQ hash, read as BullMQ reads them (`rawToJobJson`). */
export function storedJob(raw: Record<string, string>): JobFields {
  const number = (value: string | undefined) => (value ? Number.parseInt(value, 10) : undefined);
  return {
    data: JSON.parse(raw.data || '{}') as JobData,
    progress: JSON.parse(raw.progress || '0') as unknown,
    failedReason: raw.failedReason,
    processedOn: number(raw.processedOn),
    finishedOn: number(raw.finishedOn),
    attemptsStarted: number(raw.ats) ?? 0,
    attemptsMade: number(raw.attemptsMade || raw.atm) ?? 0,
  };
}

export function jobView(job: JobFields, bullState: string): JobStatusView {
  const data = job.data;
  const state = stateOf(bullState, job.failedReason);
  const progress = isProgress(job.progress) ? job.progress : undefined;
  const view: JobStatusView = {
    jobId: data.jobId,
    stage: data.stage,
    product: data.product,
    version: data.version,
    state,
    percent: state === 'succeeded' ? 100 : (progress?.percent ?? 0),
    requestedBy: data.requestedBy.displayName || data.requestedBy.person,
    createdAt: data.createdAt,
    // Attempts that ran a step: a job fetched and lost before its first step (a crash while it
    // waited for a slot) and run again at the next start is on its first attempt.
    attempts: progress?.attempt ?? Math.min(1, Math.max(job.attemptsStarted ?? 0, job.attemptsMade ?? 0)),
  };
  if (data.format !== undefined) view.format = data.format;
  if (data.cloud !== undefined) view.cloud = data.cloud;
  if (progress && state !== 'queued') {
    view.step = progress.step;
    view.steps = progress.steps;
    view.stepName = progress.stepName;
    if (progress.message !== undefined) view.message = progress.message;
  }
  const startedAt = job.processedOn ?? progress?.startedAt;
  if (startedAt !== undefined && state !== 'queued') view.startedAt = startedAt;
  if (
    (state === 'succeeded' || state === 'failed' || state === 'cancelled') &&
    job.finishedOn !== undefined
  ) {
    view.finishedAt = job.finishedOn;
  }
  if (state === 'failed' || state === 'cancelled') {
    view.error = decodeFailure(job.failedReason, progress?.worker).message;
  }
  if (progress?.tests !== undefined) view.tests = progress.tests;
  view.trace = data.trace ?? traceOf(data.eventKey);
  return view;
}

export const FINAL_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled']);
