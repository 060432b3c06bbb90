// Trace ids: one short id per chat event, on every log line from the message through its jobs (bot and
// worker) to the replies and status-message edits. It is derived from `network:eventId` exactly as the
// job id is (src/queue/job-id.ts), so for a command that queued one job the trace id is that job's id,
// and for several jobs it is their id without the `-format` suffix: `grep '"trace":"zh47288k"'`.
import { jobBaseId } from '../queue/job-id.ts';

/** The trace id of a chat event, from its `network:eventId` key. */
export function traceOf(eventKey: string): string {
  return jobBaseId(eventKey);
}

/** The trace id of a message on a network. */
export function traceOfEvent(network: string, eventId: string): string {
  return traceOf(`${network}:${eventId}`);
}
