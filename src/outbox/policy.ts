// Each network's policy in the outbox, read from what its adapter says about the platform
// (AdapterLimits): which lane a send or an edit takes, that is, what the platform counts it with, and
// the rate of that lane. Slack: posts per channel (chat.postMessage ~1/s), updates per workspace
// (chat.update, Tier 3 ~50/min). Matrix: every event of the account together (Synapse rc_message,
// 0.2/s with a burst of 10). XMPP and the terminal: no per-message rate (Prosody and ejabberd limit a
// connection's bytes per second, which only slows the socket); one lane per room keeps its order, and
// a room whose network is away (XMPP reconnecting, or the room not joined yet) holds only its own lane
// (the adapter's whenSendable).
import type { AdapterLimits, ChatTarget, MessageRef, SendBudget, SendRate } from '../types.ts';

/** Where a message waits for its turn: its key, and the rate the platform allows the lane. */
export interface Lane {
  /** `network:room:<id>`, `network:account`, `network:workspace`: shared by every bot instance. */
  key: string;
  /** Absent: unpaced (one at a time, in order). */
  rate?: SendRate;
}

function lane(network: string, room: string, budget: SendBudget | undefined): Lane {
  if (!budget) return { key: `${network}:room:${room}` };
  const scope = budget.per === 'room' ? `room:${room}` : budget.per;
  return { key: `${network}:${scope}`, rate: budget.rate };
}

/** The lane of a new message. */
export function sendLane(target: ChatTarget, limits: AdapterLimits): Lane {
  return lane(target.network, target.room, limits.sendBudget);
}

/** The lane of an edit. */
export function editLane(ref: MessageRef, limits: AdapterLimits): Lane {
  return lane(ref.network, ref.room, limits.editBudget);
}
