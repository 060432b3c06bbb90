// Errors with codes. A chat reply to a failure is built from the code and message; the README lists
// every code. Anything that is not a VmopsError is wrapped by `asVmopsError` as `internal_error`.

export const ERROR_CODES = {
  // Reading a command
  unknown_command: 'no command by that name',
  bad_syntax: 'the command could not be read (quotes, control characters, length)',
  missing_argument: 'a required argument is missing',
  unexpected_argument: 'more arguments than the command takes',
  bad_option: 'an option the command does not know, or one without its value',
  bad_version: 'a version that is not a version (expected 2.6, 2.6.1, …)',
  unknown_product: 'no product by that name in config',
  unknown_format: 'no format by that name (or the product is not built for it)',
  unknown_cloud: 'no cloud by that name in config',
  bad_argument: 'an argument of the wrong shape (job id, number, event name)',
  // Who may do what
  forbidden: 'the asker lacks the role the command needs',
  // Approvals
  unknown_request: 'no approval request by that id',
  request_closed: 'the approval request was already approved, denied or has expired',
  self_approval: 'the requester tried to approve their own request (from any of their accounts)',
  not_approver: 'the person is neither an approver nor on call for that request',
  arguments_changed: 'the approved command would now mean something else than what was approved',
  approval_required: 'retrying a job whose command needed an approval needs a new approval',
  // Jobs
  unknown_job: 'no job by that id',
  job_state: 'the job is not in a state that allows this (cancel a finished job, retry a running one)',
  not_available: 'the command is recognised but not available in this version of vmops',
  not_ready:
    'the image is not in a state that allows this stage (test before publish, publish before deploy, …)',
  image_busy: 'another job is already working on that image',
  no_worker: 'no live worker can run that stage for that format',
  no_recipe: 'the product has no steps configured for that stage',
  step_failed: 'a recipe step exited with a non-zero status',
  step_timeout: 'a recipe step ran longer than its timeout',
  tests_failed:
    'the test steps ran to their end, but the report has failed tests or problems (or there is none)',
  cancelled: 'the job was cancelled',
  worker_lost:
    'the worker running the job stopped answering (killed, hung, cut off from Redis) and jobs.attempts allows no further run',
  bad_user_data:
    "a cloud's user-data template does not render (a placeholder without a value, no #cloud-config header, not YAML, too big)",
  cloud_unsupported: 'the cloud cannot do that (start instances on a Glance-only cloud)',
  cloud_failed:
    'a cloud refused a request or did not answer (down, slow, 5xx, wrong credentials or endpoint)',
  throttled: 'the person gave more commands than bot.throttle allows; the rest of the window is dropped',
  // Sending to a chat network
  send_failed:
    'a chat network refused a send or edit (permanently, or still failing after the outbox retried it)',
  // Start-up and infrastructure
  config_invalid: 'the configuration file is missing, unreadable or does not match the schema',
  redis_unavailable: 'Redis could not be reached or started',
  data_dir_locked: 'another vmops in local mode is using the same data directory',
  internal_error: 'a bug: something failed that should not have',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error that knows its code and a message fit to show a person. */
export class VmopsError extends Error {
  override readonly name = 'VmopsError';
  readonly code: ErrorCode;
  /** Extra structured detail for logs (never shown as is). */
  readonly detail: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, detail?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.detail = detail;
  }
}

/** Wraps anything thrown into a VmopsError, keeping the original as `cause`. */
export function asVmopsError(error: unknown): VmopsError {
  if (error instanceof VmopsError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new VmopsError('internal_error', `internal error: ${message}`, undefined, { cause: error });
}

/** A result that is either a value or a VmopsError: parsers return these instead of throwing. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: VmopsError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(code: ErrorCode, message: string): Result<T> => ({
  ok: false,
  error: new VmopsError(code, message),
});
