// Where the matrix adapter keeps what must outlive a restart, in Redis under the configured prefix:
// the sync position (`next_batch`, and when it was reached), the session of a password login (access
// token and device id, so the bot stays one device), and the rooms told once that they are encrypted.
// The SDK is handed the stored sync position through its store: `getSavedSyncToken` makes its first
// /sync an incremental one (`since`), so the homeserver sends only what happened while the bot was
// away. The room data of a saved sync is not kept (the adapter asks the homeserver for what it needs).
// Before the SDK, so that its loggers are quiet (see sdk-log.ts).
import './sdk-log.ts';
import type { Redis } from 'ioredis';
import { MemoryStore } from 'matrix-js-sdk';

export interface MatrixKeys {
  /** Hash: `next_batch` (sync position) and `seen_at` (ms) of the last sync handled. */
  sync: string;
  /** Hash: `access_token` and `device_id` of a password login. */
  session: string;
  /** String: the room has been told the bot cannot read encrypted messages. */
  encryptedNotice(roomId: string): string;
}

export function matrixKeys(prefix: string, userId: string): MatrixKeys {
  return {
    sync: `${prefix}:matrix:sync:${userId}`,
    session: `${prefix}:matrix:session:${userId}`,
    encryptedNotice: (roomId) => `${prefix}:matrix:encrypted-notice:${roomId}`,
  };
}

export interface SyncPosition {
  nextBatch: string;
  seenAt: number;
}

export async function readSyncPosition(redis: Redis, keys: MatrixKeys): Promise<SyncPosition | undefined> {
  const [nextBatch, seenAt] = await redis.hmget(keys.sync, 'next_batch', 'seen_at');
  if (!nextBatch) return undefined;
  return { nextBatch, seenAt: Number(seenAt) || 0 };
}

export async function writeSyncPosition(
  redis: Redis,
  keys: MatrixKeys,
  position: SyncPosition,
): Promise<void> {
  await redis.hset(keys.sync, 'next_batch', position.nextBatch, 'seen_at', String(position.seenAt));
}

/** The SDK's in-memory store, resuming /sync from a stored position instead of from scratch. */
export class ResumingStore extends MemoryStore {
  readonly #token: string | null;

  constructor(token: string | undefined) {
    super();
    this.#token = token ?? null;
  }

  override async getSavedSyncToken(): Promise<string | null> {
    return this.#token;
  }

  override async getSavedSync(): Promise<null> {
    return null;
  }
}
