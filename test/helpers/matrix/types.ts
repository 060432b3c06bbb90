// The shapes the local homeserver deals in: events as clients see them, rooms as ordered event logs,
// users and their devices, its options, the requests it answered, and errors as the spec writes them.

export interface MatrixEvent {
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
  unsigned?: Record<string, unknown>;
}

export interface Stored {
  pos: number;
  event: MatrixEvent;
}

export interface Room {
  id: string;
  events: Stored[];
}

export interface User {
  id: string;
  password: string;
  displayName: string;
  accountData: Map<string, { pos: number; content: Record<string, unknown> }>;
  filters: Map<string, unknown>;
  /** Leaky bucket of the message rate limit: level and when it was last drained. */
  bucket: { level: number; at: number };
  rateLimited: boolean;
}

export interface Device {
  userId: string;
  deviceId: string;
}

export interface HomeserverOptions {
  /** Server name, the part after the colon of ids (default localhost). */
  serverName?: string;
  /** Message rate limit per user, like Synapse's rc_message (default 0.2/s, burst 10). */
  rateLimit?: { perSecond: number; burst: number };
  /** Honour the timeline limit of the filter of an initial sync (default false: re-serve recent history, the worst case). */
  honourTimelineLimit?: boolean;
  /** How many events an initial sync hands per room when it does not honour the filter (default 20). */
  initialTimeline?: number;
  /** Most timeline events per room in an incremental sync; more are cut (`limited: true`). Default: no limit. */
  timelineLimit?: number;
}

/** One request the server answered, for assertions. */
export interface RequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  user: string | undefined;
  status: number;
  at: number;
}

export class HttpError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  constructor(status: number, errcode: string, error: string, extra: Record<string, unknown> = {}) {
    super(error);
    this.status = status;
    this.body = { errcode, error, ...extra };
  }
}

export const STATE_KEY_SEP = '\u0000';

/** Trouble the homeserver can be asked to make, shared by its parts. */
export interface Trouble {
  /** /sync requests still to be answered with a proxy's 502. */
  failSyncs: number;
  /** Most timeline events per room in an incremental sync (undefined: no limit). */
  timelineLimit: number | undefined;
  /** Syncs held back (the bot "paused"): /sync answers nothing new until released. */
  holdSyncs: boolean;
  /** Sends still to answer with a 502 (failSends). */
  sendFaults: { left: number; stored: boolean } | undefined;
  /** Message rate limit per user. */
  rateLimit: { perSecond: number; burst: number };
}
