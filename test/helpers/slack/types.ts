// The shapes the local Slack deals in: its options, the messages the bot posted (with every version),
// the Web API calls it saw, and Socket Mode envelopes.
import type { WebSocket } from 'ws';

export interface Rate {
  perSecond: number;
  burst: number;
}

export interface FakeSlackOptions {
  botToken?: string;
  appToken?: string;
  teamId?: string;
  botUserId?: string;
  botId?: string;
  /** chat.postMessage per channel (default 1/s, burst 1). */
  postLimit?: Rate;
  /** chat.update for the workspace (default 50/min, burst 5). */
  updateLimit?: Rate;
  /** Redeliver an envelope not acked within this long (ms; Slack: 3000). */
  redeliverAfterMs?: number;
  /** How many times an envelope is sent again at most (Slack: 3). */
  maxRedeliveries?: number;
  /** Ping every connection this often (ms; default 5000). */
  pingIntervalMs?: number;
  /** Private channels the bot is not a member of: chat.postMessage there is `channel_not_found`. */
  closedChannels?: string[];
}

/** A message only one person sees (a response_url answer with response_type `ephemeral`). */
export interface EphemeralMessage {
  channel: string;
  user: string;
  text: string;
  at: number;
}

export interface MessageVersion {
  text: string;
  blocks: Block[] | undefined;
  at: number;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  threadTs: string | undefined;
  user: string;
  /** The original, then every update. */
  versions: MessageVersion[];
  files: { id: string; title: string; content: string }[];
}

export interface ApiCall {
  method: string;
  args: Record<string, unknown>;
  at: number;
  status: number;
  error?: string;
}

export interface Envelope {
  envelope_id: string;
  type: 'events_api' | 'slash_commands' | 'interactive';
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

export interface Outstanding {
  envelope: Envelope;
  attempts: number;
  timer: NodeJS.Timeout | undefined;
  connection: Connection | undefined;
  loseAck: boolean;
}

export interface Connection {
  id: number;
  ws: WebSocket;
  open: boolean;
  /** Envelope ids sent on it. */
  received: string[];
}

export type Block = Record<string, unknown>;
