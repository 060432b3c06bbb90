// The rooms the bot is in and how it got there: the configured rooms it joins at start, invites it
// accepts (from people in config, or to rooms on the allow-list) or declines, and direct chats: which
// rooms are one (just the bot and one person, not a configured room), and the one to use for a user
// (listed in the bot's m.direct and still holding just the two, or a new one).
import { EventType, type MatrixClient, Preset, type Room } from 'matrix-js-sdk';
import type { Logger } from 'pino';
import { VmopsError } from '../../src/errors.ts';

export interface MatrixRoomsOptions {
  /** The bot's user id. */
  userId: string;
  /** User ids whose invites are accepted (the people in config). */
  inviters: readonly string[];
  /** Rooms (ids or aliases) whose invites are accepted from anyone. */
  inviteRooms: readonly string[];
  log: Logger;
  /** The running client, if any. */
  client(): MatrixClient | undefined;
  /** Rooms known to be end-to-end encrypted (never used as a direct chat). */
  encrypted(roomId: string): boolean;
}

export class MatrixRooms {
  readonly #o: MatrixRoomsOptions;
  readonly #inviters: Set<string>;
  readonly #inviteRooms: Set<string>;
  /** Room ids of the configured rooms (never direct chats). */
  readonly #configured = new Set<string>();
  readonly #directness = new Map<string, Promise<boolean>>();
  readonly #dmRooms = new Map<string, Promise<string>>();

  constructor(options: MatrixRoomsOptions) {
    this.#o = options;
    this.#inviters = new Set(options.inviters);
    this.#inviteRooms = new Set(options.inviteRooms);
  }

  /** Its members changed: whether the room is a direct chat is asked again. */
  forget(roomId: string): void {
    this.#directness.delete(roomId);
  }

  async joinConfigured(room: string): Promise<void> {
    const client = this.#o.client();
    if (!client) return;
    try {
      const joined = await client.joinRoom(room);
      this.#configured.add(joined.roomId);
      this.#configured.add(room);
    } catch (error) {
      this.#o.log.warn({ err: error, room }, 'matrix room could not be joined; check networks.matrix.rooms');
    }
  }

  async onInvite(room: Room): Promise<void> {
    const client = this.#o.client();
    if (!client) return;
    const inviter = room.getMember(this.#o.userId)?.events.member?.getSender();
    const alias = room.getCanonicalAlias();
    const allowed =
      (inviter !== undefined && this.#inviters.has(inviter)) ||
      this.#inviteRooms.has(room.roomId) ||
      (alias !== null && this.#inviteRooms.has(alias));
    const log = this.#o.log.child({ room: room.roomId, inviter });
    try {
      if (allowed) {
        await client.joinRoom(room.roomId);
        log.info('matrix invite accepted');
      } else {
        await client.leave(room.roomId);
        log.info(
          'matrix invite declined: the inviter is not in config and the room is not on the invite list',
        );
      }
    } catch (error) {
      log.warn({ err: error }, 'matrix invite could not be answered');
    }
  }

  /** A room is a direct chat when it is not a configured room and holds just the bot and one person. */
  isDirect(roomId: string): Promise<boolean> {
    if (this.#configured.has(roomId)) return Promise.resolve(false);
    const known = this.#directness.get(roomId);
    if (known) return known;
    const client = this.#o.client();
    if (!client) return Promise.resolve(false);
    const found = client
      .getJoinedRoomMembers(roomId)
      .then(({ joined }) => {
        const ids = Object.keys(joined);
        return ids.length === 2 && ids.includes(this.#o.userId);
      })
      .catch((error: unknown) => {
        this.#directness.delete(roomId);
        this.#o.log.warn({ err: error, room: roomId }, 'matrix room members unknown; taken as a group room');
        return false;
      });
    this.#directness.set(roomId, found);
    return found;
  }

  /** The direct chat with a user: one listed in the bot's m.direct that still holds just the two, or a new one. */
  dmRoom(userId: string): Promise<string> {
    const known = this.#dmRooms.get(userId);
    if (known) return known;
    const found = this.#findOrCreateDm(userId).catch((error: unknown) => {
      this.#dmRooms.delete(userId);
      throw error;
    });
    this.#dmRooms.set(userId, found);
    return found;
  }

  async #findOrCreateDm(userId: string): Promise<string> {
    const client = this.#o.client();
    const own = this.#o.userId;
    if (!client) throw new VmopsError('internal_error', 'the matrix adapter is not running');
    const direct = (await client.getAccountDataFromServer(EventType.Direct).catch(() => null)) ?? {};
    for (const roomId of [...(direct[userId] ?? [])].reverse()) {
      if (this.#o.encrypted(roomId)) continue;
      try {
        const { joined } = await client.getJoinedRoomMembers(roomId);
        const others = Object.keys(joined).filter((id) => id !== own && id !== userId);
        if (!(own in joined) || others.length > 0) continue;
        const encryption = await client
          .getStateEvent(roomId, 'm.room.encryption', '')
          .then(() => true)
          .catch(() => false);
        if (encryption) continue;
        return roomId;
      } catch {
        // left, or forgotten: look further
      }
    }
    const { room_id: roomId } = await client.createRoom({
      is_direct: true,
      invite: [userId],
      preset: Preset.TrustedPrivateChat,
    });
    this.#directness.set(roomId, Promise.resolve(true));
    const mine = [...(direct[userId] ?? []), roomId];
    await client
      .setAccountData(EventType.Direct, { ...direct, [userId]: mine })
      .catch((error: unknown) =>
        this.#o.log.warn({ err: error }, 'could not record the direct chat in m.direct'),
      );
    this.#o.log.info({ user: userId, room: roomId }, 'matrix direct chat started');
    return roomId;
  }
}
