// Every Redis key vmops writes besides BullMQ's own, in one place. All start with the configured
// prefix, so several deployments can share a server and a Cluster hash tag (`{vmops}`) keeps them on
// one slot.
export interface RedisKeys {
  /** String: claim on a chat event (`taken` in the intake, `processing:<instance>` while handled, `ignored:old`). */
  event(network: string, eventId: string): string;
  /**
   * Hash: `<network>:<eventId>` → 1 for the chat events handled in one period of the time they are
   * remembered (`bucket`: the time divided by it), which expires when they need no longer be.
   */
  eventsDone(bucket: number): string;
  /** Hash: job id → `<stage> <eventKey>`: which queue holds it, and which chat event reserved the id. */
  jobIndex: string;
  /** Sorted set: job ids by creation time, for `jobs`. */
  recentJobs: string;
  /**
   * Hash: job id → its status message, then a newline and the bot instance that writes it: the JSON
   * MessageRef once posted (as `[network, room, id, thread?]`), `pending:` and the JSON reservation before.
   */
  statusMessages: string;
  /** String: a bot instance's writer lease, on every status message it writes (see statusMessages). */
  statusLease(instanceId: string): string;
  /** String: the writer lease of one job's status message, as bots before the instance lease kept it (read only). */
  statusWriter(jobId: string): string;
  /** String: a cancel request for a job (who asked). */
  cancel(jobId: string): string;
  /** String: JSON of the final view of a job removed before it ran. */
  tombstone(jobId: string): string;
  /** Pub/sub channel: job ids to cancel, for the workers running them. */
  cancelChannel: string;
  /** Hash: one image (product, version, format): state, artifacts, test summary, last job. */
  image(product: string, version: string, format: string): string;
  /** Hash: one version of a product: clouds it runs on, revocation, updates. */
  version(product: string, version: string): string;
  /** Sorted set: versions of a product by when they were first built. */
  versions(product: string): string;
  /**
   * Hash: canonical version → JSON list of the other spellings the catalog holds for it (`2.07` for 2.7,
   * from before versions had one spelling), indexed once at start-up (see Catalog.indexLegacySpellings).
   */
  legacySpellings(product: string): string;
  /** Set: the products whose legacy spellings are indexed. */
  legacySpellingsIndexed: string;
  /** String: what marked every product indexed at once before the marker was per product (dropped at start). */
  legacySpellingsIndexedOnce: string;
  /** Hash: cloud name → JSON CloudDeployment: the version's images in that cloud (ids, revisions), launches, revocation. */
  deployments(product: string, version: string): string;
  /** Set: formats of a version that have an image. */
  formats(product: string, version: string): string;
  /** Hash: `<product>:<version>:<what>` → the job working on that image (or version and cloud) now: one stage job at a time. */
  busyImages: string;
  /** String: the same lock as bots before the hash kept it, one key per image (read and released only). */
  busy(product: string, version: string, what: string): string;
  /** Stream: lifecycle events (built, passed, published, deployed, revoked, …) for subscribers. */
  lifecycle: string;
  /** String: JSON test report of a test job. */
  report(jobId: string): string;
  /** String: a live worker's announcement (expires unless renewed by its heartbeat). */
  agent(name: string): string;
  /** Set: names of workers that have announced themselves. */
  agents: string;
  /** Hash: room key (`network:room`) → JSON RoomSubscription: the lifecycle events a room wants. */
  subscriptions: string;
  /** Hash: room keys a lifecycle stream entry has been announced to (kept a day, for redelivery). */
  announced(entryId: string): string;
  /** Stream: the audit trail, each entry chained to the one before by hash. */
  audit: string;
  /** String: hash of the audit trail's newest entry (the chain's head). */
  auditHead: string;
  /** String: sequence number of the audit trail's newest entry (counted since entries carry one). */
  auditSeq: string;
  /** String: set by the bot instance that posts the signed audit checkpoint of a period (so one posts). */
  auditCheckpoint(period: number): string;
  /** String: JSON ApprovalRecord of one approval request. */
  approval(id: string): string;
  /** Sorted set: ids of open approval requests by when they expire. */
  approvalsOpen: string;
  /** Sorted set: ids of open approval requests by when they are escalated (removed once escalated). */
  approvalsEscalation: string;
  /** String: id of the pending request for one command and its arguments, by their SHA-256 (one request per change). */
  approvalSame(digest: string): string;
  /** String: JSON on-call override set by an admin (expires with it). */
  oncallOverride: string;
  /** String: set once a job's details went into its status message's thread (so they go once). */
  detailsPosted(jobId: string): string;
  /** String: person id of a one-time web console login link, by the SHA-256 of its token (short TTL). */
  webLogin(tokenHash: string): string;
  /** String: JSON web console session (person, CSRF token), by the SHA-256 of its cookie (expires). */
  webSession(sessionHash: string): string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    event: (network, eventId) => `${prefix}:event:${network}:${eventId}`,
    eventsDone: (bucket) => `${prefix}:events-done:${bucket}`,
    jobIndex: `${prefix}:job-index`,
    recentJobs: `${prefix}:recent-jobs`,
    statusMessages: `${prefix}:status-messages`,
    statusLease: (instanceId) => `${prefix}:status-lease:${instanceId}`,
    statusWriter: (jobId) => `${prefix}:status-writer:${jobId}`,
    cancel: (jobId) => `${prefix}:cancel:${jobId}`,
    tombstone: (jobId) => `${prefix}:tombstone:${jobId}`,
    cancelChannel: `${prefix}:cancel-requests`,
    image: (product, version, format) => `${prefix}:image:${product}:${version}:${format}`,
    version: (product, version) => `${prefix}:version:${product}:${version}`,
    versions: (product) => `${prefix}:versions:${product}`,
    legacySpellings: (product) => `${prefix}:legacy-spellings:${product}`,
    legacySpellingsIndexed: `${prefix}:legacy-spellings-indexed-products`,
    legacySpellingsIndexedOnce: `${prefix}:legacy-spellings-indexed`,
    deployments: (product, version) => `${prefix}:deployments:${product}:${version}`,
    formats: (product, version) => `${prefix}:formats:${product}:${version}`,
    busyImages: `${prefix}:busy`,
    busy: (product, version, what) => `${prefix}:busy:${product}:${version}:${what}`,
    lifecycle: `${prefix}:lifecycle`,
    report: (jobId) => `${prefix}:report:${jobId}`,
    agent: (name) => `${prefix}:agent:${name}`,
    agents: `${prefix}:agents`,
    subscriptions: `${prefix}:subscriptions`,
    announced: (entryId) => `${prefix}:announced:${entryId}`,
    audit: `${prefix}:audit`,
    auditHead: `${prefix}:audit-head`,
    auditSeq: `${prefix}:audit-seq`,
    auditCheckpoint: (period) => `${prefix}:audit-checkpoint:${period}`,
    approval: (id) => `${prefix}:approval:${id}`,
    approvalsOpen: `${prefix}:approvals-open`,
    approvalsEscalation: `${prefix}:approvals-escalation`,
    approvalSame: (digest) => `${prefix}:approval-same:${digest}`,
    oncallOverride: `${prefix}:oncall-override`,
    detailsPosted: (jobId) => `${prefix}:details-posted:${jobId}`,
    webLogin: (tokenHash) => `${prefix}:web-login:${tokenHash}`,
    webSession: (sessionHash) => `${prefix}:web-session:${sessionHash}`,
  };
}
