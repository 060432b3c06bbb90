// The backlog and sync handling: the timeline events of each sync are noted and, once the SDK has
// processed the sync, handed over in order; the stored sync position is the acknowledgement, written
// only after every message of the syncs it covers was taken in (a failed hand-over holds it, so a
// restart hands those events again). A room timeline a sync cut short (`limited`, with a prev_batch)
// is back-filled through /messages down to the previous position first. What is not live is only
// marked (IncomingMessage.backlog): the first sync of a run is `away` when resumed from a stored
// position, else `history`, as is what came before the bot's own join; back-filled events are `away`.
import type { Redis } from 'ioredis';
import { ClientEvent, type MatrixClient, type MatrixEvent, Method, SyncState } from 'matrix-js-sdk';
import type { Logger } from 'pino';
import type { IncomingMessage } from '../../src/types.ts';
import type { Normalized, RawEvent } from './events.ts';
import { type MatrixKeys, writeSyncPosition } from './sync-store.ts';
import { rawOf } from './translate.ts';

/** A timeline event, noted during a sync and handled once the sync is processed. */
interface Noted {
  event: MatrixEvent;
  roomId: string;
  /** It came in the first sync after the start (from before the bot was listening). */
  early: boolean;
}

/** A /sync answer with a timeline the homeserver cut short (`"limited": true`). */
const LIMITED = /"limited"\s*:\s*true/;

/** A room timeline a sync cut short: the events between `to` (the previous position) and `from` were left out. */
interface Gap {
  roomId: string;
  /** The timeline's prev_batch. */
  from: string;
  /** The `since` of that sync. */
  to: string;
}

/** Events asked for per /messages page when back-filling a gap, and the most pages per gap. */
const BACKFILL_PAGE = 100;
const BACKFILL_PAGES = 50;

export interface SyncHandoverOptions {
  /** The bot's user id. */
  userId: string;
  keys: MatrixKeys;
  log: Logger;
  client(): MatrixClient | undefined;
  redis(): Redis | undefined;
  /** Where messages go; undefined once stopped. */
  deliver(): ((message: IncomingMessage) => Promise<void>) | undefined;
  /** The run resumed from a stored sync position. */
  resumed(): boolean;
  normalize(event: RawEvent, roomId: string): Promise<Normalized>;
  /** Work due after each batch (telling encrypted rooms), and whether there is any. */
  afterBatch: { due(): boolean; run(): Promise<void> };
  now(): number;
}

export class SyncHandover {
  readonly #o: SyncHandoverOptions;
  #noted: Noted[] = [];
  /** The first sync of this run is processed (the SDK said PREPARED once): later events are live. */
  #prepared = false;
  /** Gaps of limited timelines, by the next_batch of the sync that had them. */
  readonly #gaps = new Map<string, Gap[]>();
  /** A hand-over failed: the sync position stays where it was, so a restart hands those events again. */
  #positionHeld = false;

  constructor(options: SyncHandoverOptions) {
    this.#o = options;
  }

  /** A live timeline event of a room, to be handed over when its sync is processed. */
  note(event: MatrixEvent, roomId: string): void {
    // Not isInitialSyncComplete(): that is false again while the SDK reconnects after a failed /sync.
    this.#noted.push({ event, roomId, early: !this.#prepared });
  }

  /** Notes the rooms whose timeline this /sync answer cut short (`limited`), to back-fill them. */
  async noteGaps(since: string, response: Response): Promise<void> {
    try {
      // Most syncs cut nothing short: parse the answer a second time only when one did.
      const text = await response.text();
      if (!LIMITED.test(text)) return;
      const body = JSON.parse(text) as {
        next_batch?: string;
        rooms?: { join?: Record<string, { timeline?: { limited?: boolean; prev_batch?: string } }> };
      };
      const gaps: Gap[] = [];
      for (const [roomId, room] of Object.entries(body.rooms?.join ?? {})) {
        const timeline = room.timeline;
        if (timeline?.limited && timeline.prev_batch)
          gaps.push({ roomId, from: timeline.prev_batch, to: since });
      }
      if (gaps.length > 0 && body.next_batch) this.#gaps.set(body.next_batch, gaps);
    } catch (error) {
      this.#o.log.warn({ err: error }, 'matrix sync answer unreadable for limited timelines');
    }
  }

  /**
   * The SDK processed a sync (PREPARED or SYNCING) ending at `token`: the work that hands its events
   * over and then stores the position, or undefined when there is nothing to do.
   */
  synced(token: string | undefined): (() => Promise<void>) | undefined {
    this.#prepared = true;
    const batch = this.#noted.splice(0);
    const gaps = token ? (this.#gaps.get(token) ?? []) : [];
    if (token) this.#gaps.delete(token);
    if (batch.length === 0 && gaps.length === 0 && !this.#o.afterBatch.due() && !token) return undefined;
    return async () => {
      for (const gap of gaps) await this.#backfill(gap);
      await this.#handleBatch(batch);
      await this.#o.afterBatch.run();
      // Only now that the batch is taken in: a crash before this line hands it again (and the
      // pipeline's event claims keep it from running twice).
      const redis = this.#o.redis();
      if (token && redis && !this.#positionHeld) {
        await writeSyncPosition(redis, this.#o.keys, { nextBatch: token, seenAt: this.#o.now() });
      }
    };
  }

  async #handleBatch(batch: Noted[]): Promise<void> {
    const own = this.#o.userId;
    // A room the bot joined in this batch: what came before its join is history, not a command to it.
    const joinedAt = new Map<string, number>();
    batch.forEach(({ event, roomId }, i) => {
      if (
        event.getType() === 'm.room.member' &&
        event.getStateKey() === own &&
        event.getContent().membership === 'join' &&
        event.getPrevContent().membership !== 'join'
      ) {
        joinedAt.set(roomId, i);
      }
    });
    const resumed = this.#o.resumed();
    const handOvers: Promise<void>[] = [];
    for (const [i, { event, roomId, early }] of batch.entries()) {
      if (event.getType() !== 'm.room.message') continue;
      const kind =
        i < (joinedAt.get(roomId) ?? -1) || (early && !resumed) ? 'history' : early ? 'away' : undefined;
      // Handed over side by side, in order (one Redis connection keeps the order of the writes).
      handOvers.push(this.#handOver(await this.#o.normalize(rawOf(event), roomId), kind));
    }
    await Promise.all(handOvers);
  }

  /** Hands a message to the pipeline, marked as backlog of a kind; a failure holds the sync position. */
  async #handOver(normalized: Normalized, backlog: 'away' | 'history' | undefined): Promise<void> {
    if ('drop' in normalized) return;
    const message = normalized.message;
    if (message.sender.isSelf) return;
    const deliver = this.#o.deliver();
    if (!deliver) {
      this.#positionHeld = true;
      return;
    }
    try {
      await deliver(
        backlog ? { ...message, backlog: { kind: backlog, originalAt: message.sentAt } } : message,
      );
    } catch (error) {
      this.#positionHeld = true;
      this.#o.log.error(
        { err: error, eventId: message.eventId },
        'matrix message could not be taken in; the sync position is held so a restart hands it again',
      );
    }
  }

  /** Back-fills a limited timeline from its prev_batch down to the previous position, oldest first. */
  async #backfill(gap: Gap): Promise<void> {
    const client = this.#o.client();
    if (!client) return;
    const log = this.#o.log.child({ room: gap.roomId });
    const events: RawEvent[] = [];
    let from = gap.from;
    try {
      for (let page = 0; page < BACKFILL_PAGES; page++) {
        const answer = await client.http.authedRequest<{ chunk?: RawEvent[]; end?: string }>(
          Method.Get,
          `/rooms/${encodeURIComponent(gap.roomId)}/messages`,
          { from, to: gap.to, dir: 'b', limit: String(BACKFILL_PAGE) },
        );
        const chunk = answer.chunk ?? [];
        events.push(...chunk);
        if (chunk.length === 0 || !answer.end || answer.end === from) break;
        from = answer.end;
      }
    } catch (error) {
      // Not held: the events after the gap are live and must not wait; what was missed is logged.
      log.error({ err: error }, 'matrix timeline gap could not be back-filled; commands in it may be missed');
    }
    log.info({ events: events.length }, 'matrix limited timeline back-filled');
    const handOvers: Promise<void>[] = [];
    for (const event of events.reverse()) {
      if (event.type !== 'm.room.message') continue;
      handOvers.push(this.#handOver(await this.#o.normalize(event, gap.roomId), 'away'));
    }
    await Promise.all(handOvers);
  }
}

/** How the first sync of a start ends: done, the token refused, or not within `timeoutMs`. */
export function firstSync(client: MatrixClient, timeoutMs: number): Promise<'prepared' | 'refused' | 'late'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('late'), timeoutMs);
    const onSync = (state: SyncState, _previous: SyncState | null, data?: { error?: unknown }) => {
      const refused =
        state === SyncState.Error &&
        (data?.error as { errcode?: string } | undefined)?.errcode === 'M_UNKNOWN_TOKEN';
      if (!refused && state !== SyncState.Prepared && state !== SyncState.Syncing) return;
      clearTimeout(timer);
      client.off(ClientEvent.Sync, onSync);
      resolve(refused ? 'refused' : 'prepared');
    };
    client.on(ClientEvent.Sync, onSync);
  });
}
