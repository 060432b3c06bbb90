// The approval vocabulary shared by the desk, its store, the command contract and the console: what a
// request is, how it was answered, how it is shown. Types only, from src/types.ts only, so nothing that
// uses them is pulled back into the approval desk.
import type { BoundArgs, ChatTarget, IncomingMessage, Principal } from '../types.ts';

/** `withdrawn`: denied by the person who asked. */
export type ApprovalState = 'pending' | 'approved' | 'denied' | 'withdrawn' | 'expired';

/** What was asked, fixed when the request is made. */
export interface ApprovalRequest {
  /** `r-` and six characters. */
  id: string;
  /** Command name. */
  command: string;
  /** The command text as parsed; replayed when approved. */
  text: string;
  /** The bound arguments; the replay must bind to exactly these. */
  args: BoundArgs;
  /** Why it needs an approval. */
  reason: string;
  /** Who asked, as identified then; the command runs as them. */
  requester: Principal;
  /** The chat message that asked (its room gets the answer, its event names the jobs). */
  message: IncomingMessage;
  /** When it was asked (ms since the epoch). */
  createdAt: number;
  /** When it expires unanswered (ms since the epoch). */
  expiresAt: number;
}

/** Who answered a request, from where, when, and why (a denial's reason). */
export interface ApprovalAnswer {
  /** Person id from config. */
  person: string;
  /** The account they answered from (`network:id`). */
  account: string;
  /** The room they answered in (`network:room`). */
  room: string;
  /** When (ms since the epoch). */
  at: number;
  /** The reason given with `deny`. */
  reason?: string;
}

/** A request as stored: what was asked, where it stands, whom it was sent to. */
export interface ApprovalRecord {
  /** What was asked. */
  request: ApprovalRequest;
  /** Where it stands. */
  state: ApprovalState;
  /** Who answered, once answered. */
  answer?: ApprovalAnswer;
  /** People the request was sent to, in order. */
  notified: string[];
  /** What running the approved command gave: its jobs, or why it did not run. */
  outcome?: { jobs: string[]; error?: string };
}

/** `approve`, `deny` and `withdraw` as the desk takes them. */
export interface ApprovalAnswerInput {
  /** The request id. */
  id: string;
  /** Who answers. */
  by: Principal;
  /** Where they answered. */
  where: ChatTarget;
  /** `withdraw` is the requester's own `deny`. */
  decision: 'approve' | 'deny' | 'withdraw';
  /** The reason given with `deny`. */
  reason?: string;
}

/** A request to show: `pending` and the console. */
export interface ApprovalView {
  /** The request id. */
  id: string;
  /** Command name. */
  command: string;
  /** The command text. */
  text: string;
  /** Person id of who asked. */
  requester: string;
  /** The room that asked (`network:room`). */
  room: string;
  /** When it was asked (ms since the epoch). */
  createdAt: number;
  /** When it expires unanswered (ms since the epoch). */
  expiresAt: number;
  /** People it was sent to. */
  notified: string[];
  /** Where it stands. */
  state: ApprovalState;
}
