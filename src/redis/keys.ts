// Every Redis key vmops writes besides BullMQ's own, in one place. All start with the configured
// prefix, so several deployments can share a server and a Cluster hash tag (`{vmops}`) keeps them on
// one slot.
export interface RedisKeys {
  /** String: claim on a chat event (`processing` while handled, `done` after). */
  event(network: string, eventId: string): string;
  /** Hash: job id → `<stage> <eventKey>`: which queue holds it, and which chat event reserved the id. */
  jobIndex: string;
  /** Sorted set: job ids by creation time, for `jobs`. */
  recentJobs: string;
  /** Hash: job id → JSON MessageRef of its status message. */
  statusMessages: string;
  /** String: the bot instance that edits a job's status message now (a lease). */
  statusWriter(jobId: string): string;
  /** String: a cancel request for a job (who asked). */
  cancel(jobId: string): string;
  /** String: JSON of the final view of a job removed before it ran. */
  tombstone(jobId: string): string;
  /** Pub/sub channel: job ids to cancel, for the workers running them. */
  cancelChannel: string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    event: (network, eventId) => `${prefix}:event:${network}:${eventId}`,
    jobIndex: `${prefix}:job-index`,
    recentJobs: `${prefix}:recent-jobs`,
    statusMessages: `${prefix}:status-messages`,
    statusWriter: (jobId) => `${prefix}:status-writer:${jobId}`,
    cancel: (jobId) => `${prefix}:cancel:${jobId}`,
    tombstone: (jobId) => `${prefix}:tombstone:${jobId}`,
    cancelChannel: `${prefix}:cancel-requests`,
  };
}
