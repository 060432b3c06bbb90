// The homeserver's rooms and accounts: every room an ordered log of events (state included), each event
// at a position that sync tokens count; users with their devices' access tokens; and what a member does
// (create, join, leave, invite, set state, change the display name), as the spec allows it. `changed`
// is told of every new event or account data, so held /sync requests and waiters look again.
import { randomBytes } from 'node:crypto';
import { type Device, HttpError, type MatrixEvent, type Room, STATE_KEY_SEP, type User } from './types.ts';

export class RoomStore {
  readonly serverName: string;
  readonly users = new Map<string, User>();
  readonly tokens = new Map<string, Device>();
  readonly rooms = new Map<string, Room>();
  readonly #aliases = new Map<string, string>();
  /** Called on each change (held /sync requests, waiters). */
  readonly waiters = new Set<() => void>();
  /** The position of the newest event or account data. */
  pos = 0;

  constructor(serverName: string) {
    this.serverName = serverName;
  }

  /** Registers an account; returns its user id. */
  register(localpart: string, password = 'secret', options: { rateLimited?: boolean } = {}): string {
    const id = `@${localpart}:${this.serverName}`;
    this.users.set(id, {
      id,
      password,
      displayName: localpart,
      accountData: new Map(),
      filters: new Map(),
      bucket: { level: 0, at: Date.now() },
      rateLimited: options.rateLimited ?? true,
    });
    return id;
  }

  /** A fresh access token for a user (as if it had logged in). */
  token(userId: string, deviceId = `D${randomBytes(4).toString('hex').toUpperCase()}`): string {
    const token = `syt_${randomBytes(12).toString('hex')}`;
    this.tokens.set(token, { userId, deviceId });
    return token;
  }

  /** Every event of a room, oldest first. */
  events(roomId: string): MatrixEvent[] {
    return (this.rooms.get(roomId)?.events ?? []).map((s) => s.event);
  }

  /** Membership of a user in a room (`join`, `invite`, `leave`, or undefined). */
  membership(roomId: string, userId: string): string | undefined {
    const room = this.rooms.get(roomId);
    return room ? this.membershipAt(room, userId, Number.POSITIVE_INFINITY) : undefined;
  }

  user(id: string): User {
    const user = this.users.get(id);
    if (!user) throw new HttpError(404, 'M_NOT_FOUND', `No such user ${id}`);
    return user;
  }

  room(idOrAlias: string): Room {
    const id = idOrAlias.startsWith('#') ? this.#aliases.get(idOrAlias) : idOrAlias;
    const room = id ? this.rooms.get(id) : undefined;
    if (!room) throw new HttpError(404, 'M_NOT_FOUND', `No such room ${idOrAlias}`);
    return room;
  }

  next(): number {
    this.pos += 1;
    return this.pos;
  }

  wake(): void {
    for (const wake of [...this.waiters]) wake();
  }

  append(
    roomId: string,
    event: { type: string; sender: string; content: Record<string, unknown>; state_key?: string },
    ts?: number,
  ): MatrixEvent {
    const room = this.room(roomId);
    const pos = this.next();
    const full: MatrixEvent = {
      event_id: `$${randomBytes(12).toString('base64url')}`,
      room_id: room.id,
      origin_server_ts: ts ?? Date.now(),
      ...event,
    };
    room.events.push({ pos, event: full });
    this.wake();
    return full;
  }

  stateAt(room: Room, beforePos: number): Map<string, MatrixEvent> {
    const state = new Map<string, MatrixEvent>();
    for (const { pos, event } of room.events) {
      if (pos >= beforePos) break;
      if (event.state_key !== undefined) state.set(`${event.type}${STATE_KEY_SEP}${event.state_key}`, event);
    }
    return state;
  }

  membershipAt(room: Room, userId: string, beforePos: number): string | undefined {
    const member = this.stateAt(room, beforePos).get(`m.room.member${STATE_KEY_SEP}${userId}`);
    return member?.content.membership as string | undefined;
  }

  requireJoined(user: User, roomId: string): void {
    if (this.membershipAt(this.room(roomId), user.id, Number.POSITIVE_INFINITY) !== 'join') {
      throw new HttpError(403, 'M_FORBIDDEN', `${user.id} is not in room ${roomId}`);
    }
  }

  member(user: User, membership: string, extra: Record<string, unknown> = {}) {
    return { membership, displayname: user.displayName, ...extra };
  }

  createRoom(user: User, body: Record<string, unknown>): string {
    const id = `!${randomBytes(9).toString('base64url')}:${this.serverName}`;
    this.rooms.set(id, { id, events: [] });
    const alias = body.room_alias_name ? `#${String(body.room_alias_name)}:${this.serverName}` : undefined;
    if (alias) this.#aliases.set(alias, id);
    const state = (type: string, content: Record<string, unknown>, stateKey = '') =>
      this.append(id, { type, sender: user.id, content, state_key: stateKey });
    state('m.room.create', { creator: user.id, room_version: '10' });
    state('m.room.member', this.member(user, 'join'), user.id);
    state('m.room.power_levels', { users: { [user.id]: 100 }, users_default: 0, events_default: 0 });
    const preset = body.preset ?? (body.visibility === 'public' ? 'public_chat' : 'private_chat');
    state('m.room.join_rules', { join_rule: preset === 'public_chat' ? 'public' : 'invite' });
    state('m.room.history_visibility', { history_visibility: 'shared' });
    if (body.name) state('m.room.name', { name: body.name });
    if (alias) state('m.room.canonical_alias', { alias });
    for (const initial of (body.initial_state as
      | { type: string; state_key?: string; content: Record<string, unknown> }[]
      | undefined) ?? []) {
      state(initial.type, initial.content, initial.state_key ?? '');
    }
    for (const invitee of (body.invite as string[] | undefined) ?? []) {
      this.invite(user, id, invitee, body.is_direct === true);
    }
    return id;
  }

  join(user: User, idOrAlias: string): string {
    const room = this.room(idOrAlias);
    const now = this.membershipAt(room, user.id, Number.POSITIVE_INFINITY);
    if (now === 'join') return room.id;
    const rules = this.stateAt(room, Number.POSITIVE_INFINITY).get(`m.room.join_rules${STATE_KEY_SEP}`);
    if (now !== 'invite' && rules?.content.join_rule !== 'public') {
      throw new HttpError(403, 'M_FORBIDDEN', 'You are not invited to this room.');
    }
    this.append(room.id, {
      type: 'm.room.member',
      sender: user.id,
      state_key: user.id,
      content: this.member(user, 'join'),
    });
    return room.id;
  }

  leave(user: User, roomId: string): void {
    const room = this.room(roomId);
    const now = this.membershipAt(room, user.id, Number.POSITIVE_INFINITY);
    if (now !== 'join' && now !== 'invite') return;
    this.append(room.id, {
      type: 'm.room.member',
      sender: user.id,
      state_key: user.id,
      content: this.member(user, 'leave'),
    });
  }

  invite(user: User, roomId: string, invitee: string, isDirect = false): void {
    this.requireJoined(user, roomId);
    const target = this.user(invitee);
    const now = this.membershipAt(this.room(roomId), invitee, Number.POSITIVE_INFINITY);
    if (now === 'join') throw new HttpError(403, 'M_FORBIDDEN', `${invitee} is already in the room`);
    this.append(roomId, {
      type: 'm.room.member',
      sender: user.id,
      state_key: invitee,
      content: this.member(target, 'invite', isDirect ? { is_direct: true } : {}),
    });
  }

  setState(user: User, roomId: string, type: string, stateKey: string, content: Record<string, unknown>) {
    this.requireJoined(user, roomId);
    if (type === 'm.room.member' && stateKey !== user.id) {
      throw new HttpError(403, 'M_FORBIDDEN', 'Use invite, kick or ban for other members');
    }
    return this.append(roomId, { type, sender: user.id, content, state_key: stateKey }).event_id;
  }

  /** Like Synapse: a new display name is also a new member event in every room the user is in. */
  setDisplayName(user: User, name: string): void {
    user.displayName = name;
    for (const room of this.rooms.values()) {
      if (this.membershipAt(room, user.id, Number.POSITIVE_INFINITY) !== 'join') continue;
      this.append(room.id, {
        type: 'm.room.member',
        sender: user.id,
        state_key: user.id,
        content: this.member(user, 'join'),
      });
    }
  }
}
