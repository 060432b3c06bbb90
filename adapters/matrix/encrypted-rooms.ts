// End-to-end encrypted rooms, which vmops cannot read (no E2EE here): noted when the SDK shows one
// (its m.room.encryption state, or an encrypted message from someone else), logged, and told once (per
// 30 days, kept in Redis) with a notice, as soon as the bot is in the room.
import type { Redis } from 'ioredis';
import type { MatrixClient, MatrixEvent } from 'matrix-js-sdk';
import type { Logger } from 'pino';
import { noticeContent } from './events.ts';
import type { MatrixKeys } from './sync-store.ts';

export const ENCRYPTED_NOTICE =
  '🔒 This room is end-to-end encrypted, and vmops cannot read encrypted messages: commands sent here are not seen. ' +
  'Talk to vmops in an unencrypted room, or in a direct chat it starts (it answers there).';

export interface EncryptedRoomsOptions {
  /** The bot's user id. */
  userId: string;
  keys: MatrixKeys;
  log: Logger;
  client(): MatrixClient | undefined;
  redis(): Redis | undefined;
  /** Sends a notice into a room (one PUT, as every send). */
  put(roomId: string, content: Record<string, unknown>): Promise<string>;
}

export class EncryptedRooms {
  readonly #o: EncryptedRoomsOptions;
  readonly #encrypted = new Set<string>();
  readonly #due = new Set<string>();

  constructor(options: EncryptedRoomsOptions) {
    this.#o = options;
  }

  has(roomId: string): boolean {
    return this.#encrypted.has(roomId);
  }

  /** Rooms seen encrypted and not yet told. */
  get due(): boolean {
    return this.#due.size > 0;
  }

  /** Notes the room of an event that shows it is encrypted. */
  seen(event: MatrixEvent, roomId: string): void {
    const type = event.getType();
    const encrypted =
      type === 'm.room.encryption' || (type === 'm.room.encrypted' && event.getSender() !== this.#o.userId);
    if (!encrypted || this.#encrypted.has(roomId)) return;
    this.#encrypted.add(roomId);
    this.#due.add(roomId);
    this.#o.log.warn(
      { room: roomId, event: type },
      'matrix room is end-to-end encrypted: vmops cannot read its messages (no E2EE support); the room is told once',
    );
  }

  /** Tells each room seen encrypted, once, that its commands go unseen. */
  async tell(): Promise<void> {
    const redis = this.#o.redis();
    const client = this.#o.client();
    if (!redis || !client?.isInitialSyncComplete()) return;
    for (const roomId of [...this.#due]) {
      const membership = client.getRoom(roomId)?.getMyMembership();
      // Seen in an invite: told once the bot is in (a declined invite is never told).
      if (membership === 'invite') continue;
      this.#due.delete(roomId);
      if (membership === 'ban') continue;
      const key = this.#o.keys.encryptedNotice(roomId);
      if ((await redis.set(key, '1', 'PX', 30 * 24 * 3600_000, 'NX')) !== 'OK') continue;
      try {
        await this.#o.put(roomId, noticeContent({ text: ENCRYPTED_NOTICE, tone: 'error' }));
      } catch (error) {
        await redis.del(key).catch(() => undefined);
        this.#o.log.warn(
          { err: error, room: roomId },
          'could not tell the encrypted room that vmops cannot read it; its commands go unseen',
        );
      }
    }
  }
}
