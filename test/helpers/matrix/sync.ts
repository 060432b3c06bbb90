// Sync as the spec serves it: initial and incremental /sync (long-poll, held open until something for
// the user arrives, the timeout passes or the server stops), with room timelines cut to a limit on
// demand (`limited` with a `prev_batch`, as Synapse does) and held back on demand; and
// /rooms/{id}/messages to back-fill from such a token.
import type { ServerResponse } from 'node:http';
import type { RoomStore } from './rooms.ts';
import { type HomeserverOptions, HttpError, type Room, type Trouble, type User } from './types.ts';

export class SyncServer {
  readonly #store: RoomStore;
  readonly #o: HomeserverOptions;
  readonly #trouble: Trouble;
  /** The server is listening (a held /sync ends when it stops). */
  readonly #alive: () => boolean;

  constructor(store: RoomStore, options: HomeserverOptions, trouble: Trouble, alive: () => boolean) {
    this.#store = store;
    this.#o = options;
    this.#trouble = trouble;
    this.#alive = alive;
  }

  async sync(user: User, query: URLSearchParams, res: ServerResponse): Promise<unknown> {
    const since = query.get('since');
    const from = since ? Number(since.replace(/^s/, '')) : undefined;
    if (from !== undefined && !Number.isInteger(from)) {
      throw new HttpError(400, 'M_INVALID_PARAM', `Invalid since token ${since}`);
    }
    const timeout = Math.min(Number(query.get('timeout') ?? 0) || 0, 60_000);
    const filter = this.#filterOf(user, query.get('filter'));
    let answer =
      this.#trouble.holdSyncs && from !== undefined
        ? this.#nothingSince(from)
        : this.#syncResponse(user, from, filter);
    if (from === undefined || timeout === 0 || !isEmpty(answer)) return answer;
    // Long poll: hold the request until something for this user arrives, the timeout passes, or the
    // server stops (then the connection is cut).
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#store.waiters.delete(check);
        res.off('close', done);
        resolve();
      };
      const check = () => {
        if (!this.#alive()) return done();
        if (this.#trouble.holdSyncs) return;
        answer = this.#syncResponse(user, from, filter);
        if (!isEmpty(answer)) done();
      };
      const timer = setTimeout(done, timeout);
      this.#store.waiters.add(check);
      res.on('close', done);
    });
    return this.#trouble.holdSyncs ? this.#nothingSince(from) : this.#syncResponse(user, from, filter);
  }

  /** An empty incremental answer that keeps the client where it was. */
  #nothingSince(from: number) {
    return {
      next_batch: `s${from}`,
      rooms: { join: {}, invite: {}, leave: {} },
      account_data: { events: [] },
      presence: { events: [] },
      to_device: { events: [] },
      device_lists: { changed: [], left: [] },
      device_one_time_keys_count: {},
    };
  }

  /**
   * GET /rooms/{id}/messages: events before `from` (a `t<pos>` prev_batch or end token, or an `s<pos>`
   * sync token), newest first with dir=b, down to `to` (exclusive), at most `limit`; `end` continues.
   */
  messages(user: User, roomId: string, query: URLSearchParams): unknown {
    this.#store.requireJoined(user, roomId);
    const room = this.#store.room(roomId);
    const position = (token: string | null, fallback: number) => {
      if (!token) return fallback;
      const pos = Number(token.slice(1));
      if (!/^[ts]\d+$/.test(token) || !Number.isInteger(pos)) {
        throw new HttpError(400, 'M_INVALID_PARAM', `Invalid pagination token ${token}`);
      }
      // A t-token points at the first event shown (exclusive going back); an s-token at the last one seen.
      return token.startsWith('s') ? pos + 1 : pos;
    };
    if (query.get('dir') !== 'b') throw new HttpError(400, 'M_INVALID_PARAM', 'only dir=b is served here');
    const from = position(query.get('from'), this.#store.pos + 1);
    const to = position(query.get('to'), 0);
    const limit = Math.min(Number(query.get('limit') ?? 10) || 10, 1000);
    const older = room.events
      .filter((s) => s.pos < from && s.pos >= to && this.#store.membershipAt(room, user.id, s.pos) === 'join')
      .reverse()
      .slice(0, limit);
    const last = older.at(-1);
    return {
      start: query.get('from') ?? `t${from}`,
      chunk: older.map((s) => s.event),
      ...(last && older.length === limit ? { end: `t${last.pos}` } : {}),
    };
  }

  #filterOf(user: User, filter: string | null): { timelineLimit?: number } {
    if (!filter) return {};
    const parsed = (filter.startsWith('{') ? JSON.parse(filter) : user.filters.get(filter)) as
      | { room?: { timeline?: { limit?: number } } }
      | undefined;
    const limit = parsed?.room?.timeline?.limit;
    return limit === undefined ? {} : { timelineLimit: limit };
  }

  #syncResponse(user: User, from: number | undefined, filter: { timelineLimit?: number }) {
    const join: Record<string, unknown> = {};
    const invite: Record<string, unknown> = {};
    const leave: Record<string, unknown> = {};
    for (const room of this.#store.rooms.values()) {
      const now = this.#store.membershipAt(room, user.id, Number.POSITIVE_INFINITY);
      if (from === undefined) {
        if (now === 'join') {
          const limit =
            this.#o.honourTimelineLimit && filter.timelineLimit !== undefined
              ? filter.timelineLimit
              : (this.#o.initialTimeline ?? 20);
          const timeline = limit > 0 ? room.events.slice(-limit) : [];
          const startPos = timeline[0]?.pos ?? this.#store.pos + 1;
          join[room.id] = {
            state: { events: [...this.#store.stateAt(room, startPos).values()] },
            timeline: {
              events: timeline.map((s) => s.event),
              limited: room.events.length > timeline.length,
              prev_batch: `t${startPos}`,
            },
            account_data: { events: [] },
            ephemeral: { events: [] },
          };
        } else if (now === 'invite') {
          invite[room.id] = { invite_state: { events: this.#strippedState(room) } };
        }
        continue;
      }
      const fresh = room.events.filter((s) => s.pos > from);
      if (fresh.length === 0) continue;
      const before = this.#store.membershipAt(room, user.id, from + 1);
      if (now === 'invite' && before !== 'invite') {
        invite[room.id] = { invite_state: { events: this.#strippedState(room) } };
        continue;
      }
      // Events of the window while the user was joined (and its own join and leave events).
      const visible = fresh.filter(
        (s) =>
          this.#store.membershipAt(room, user.id, s.pos) === 'join' ||
          (s.event.type === 'm.room.member' && s.event.state_key === user.id),
      );
      if (visible.length === 0 || (now !== 'join' && before !== 'join' && now !== 'leave')) continue;
      // Synapse cuts a room's timeline to the filter's limit and says so (`limited`, back-fill from prev_batch).
      const limit = this.#trouble.timelineLimit;
      const shown = limit !== undefined && visible.length > limit ? visible.slice(-limit) : visible;
      const firstPos = shown[0]?.pos ?? from + 1;
      const section = {
        // A room newly joined in this window gets its state as of the first event shown.
        state: { events: before === 'join' ? [] : [...this.#store.stateAt(room, firstPos).values()] },
        timeline: {
          events: shown.map((s) => s.event),
          limited: shown.length < visible.length,
          prev_batch: `t${firstPos}`,
        },
        account_data: { events: [] },
        ephemeral: { events: [] },
      };
      if (now === 'join') join[room.id] = section;
      else if (now === 'leave' && before !== 'leave') leave[room.id] = section;
    }
    const accountData = [...user.accountData.entries()]
      .filter(([, v]) => from === undefined || v.pos > from)
      .map(([type, v]) => ({ type, content: v.content }));
    return {
      next_batch: `s${this.#store.pos}`,
      rooms: { join, invite, leave },
      account_data: { events: accountData },
      presence: { events: [] },
      to_device: { events: [] },
      device_lists: { changed: [], left: [] },
      device_one_time_keys_count: {},
    };
  }

  #strippedState(room: Room) {
    return [...this.#store.stateAt(room, Number.POSITIVE_INFINITY).values()]
      .filter((e) =>
        ['m.room.create', 'm.room.name', 'm.room.join_rules', 'm.room.member', 'm.room.encryption'].includes(
          e.type,
        ),
      )
      .map(({ type, state_key, sender, content }) => ({ type, state_key, sender, content }));
  }
}

function isEmpty(answer: {
  rooms: Record<string, Record<string, unknown>>;
  account_data: { events: unknown[] };
}): boolean {
  return (
    Object.values(answer.rooms).every((section) => Object.keys(section).length === 0) &&
    answer.account_data.events.length === 0
  );
}
