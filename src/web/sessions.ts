// Web console sign-in, all in Redis so any bot instance can serve any person: `login` in a direct
// message makes a one-time token (SET with a short TTL), the link's page consumes it atomically
// (GETDEL) and opens a session that expires. Redis holds only SHA-256 hashes of tokens and session
// ids, so reading Redis does not let anyone sign in. Each session carries its CSRF token.
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { VmopsError } from '../errors.ts';
import type { RedisKeys } from '../redis/keys.ts';

export interface WebSession {
  /** Person id from config. */
  person: string;
  /** Synchronizer token every POST of this session must carry. */
  csrf: string;
  /** When it was made and when it ends (ms since epoch). */
  createdAt: number;
  expiresAt: number;
}

export interface LoginLink {
  url: string;
  expiresAt: number;
}

const secret = () => randomBytes(32).toString('base64url');
const hashOf = (value: string) => createHash('sha256').update(value).digest('hex');
/** Tokens and session ids are 43 base64url characters; anything else is not looked up. */
const SHAPE = /^[A-Za-z0-9_-]{43}$/;

export class WebSessions {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #loginTtlMs: number;
  readonly #sessionTtlMs: number;
  readonly #now: () => number;
  /** Where login links point: web.publicUrl, or the console's own address once it listens. */
  #baseUrl: string | undefined;
  /** Settles when the console that is starting listens (or fails to): links asked for meanwhile wait. */
  #starting: Promise<void> | undefined;

  constructor(
    redis: Redis,
    keys: RedisKeys,
    options: { loginTtlMs: number; sessionTtlMs: number; publicUrl?: string | undefined; now?: () => number },
  ) {
    this.#redis = redis;
    this.#keys = keys;
    this.#loginTtlMs = options.loginTtlMs;
    this.#sessionTtlMs = options.sessionTtlMs;
    this.#baseUrl = options.publicUrl;
    this.#now = options.now ?? Date.now;
  }

  /** The console listens at `url` (used for links unless web.publicUrl is set). */
  servedAt(url: string): void {
    this.#baseUrl ??= url;
  }

  /** The console is starting (local mode answers its first command meanwhile): links wait for its address. */
  startingAt(listening: Promise<unknown>): void {
    this.#starting = listening.then(
      () => undefined,
      () => undefined,
    );
  }

  /** A one-time sign-in link for a person. */
  async loginLink(person: string): Promise<LoginLink> {
    if (this.#baseUrl === undefined) await this.#starting;
    if (this.#baseUrl === undefined) {
      throw new VmopsError(
        'not_available',
        'this bot serves no web console (web.enabled is false and web.publicUrl is not set), so there is nothing to sign in to.',
      );
    }
    const token = secret();
    const expiresAt = this.#now() + this.#loginTtlMs;
    const value = JSON.stringify({ person, expiresAt });
    await this.#redis.set(this.#keys.webLogin(hashOf(token)), value, 'PX', this.#loginTtlMs);
    return { url: `${this.#baseUrl}/login/${token}`, expiresAt };
  }

  #person(raw: string | null): string | undefined {
    if (!raw) return undefined;
    const link = JSON.parse(raw) as { person: string; expiresAt: number };
    return link.expiresAt > this.#now() ? link.person : undefined;
  }

  /** Whose link it is, without using it up (the page that asks to confirm). */
  async peekLogin(token: string): Promise<string | undefined> {
    if (!SHAPE.test(token)) return undefined;
    return this.#person(await this.#redis.get(this.#keys.webLogin(hashOf(token))));
  }

  /** Uses a link up (once, whichever instance gets it) and opens a session for its person. */
  async signIn(token: string): Promise<{ id: string; session: WebSession } | undefined> {
    if (!SHAPE.test(token)) return undefined;
    const person = this.#person(await this.#redis.getdel(this.#keys.webLogin(hashOf(token))));
    if (!person) return undefined;
    const id = secret();
    const now = this.#now();
    const session: WebSession = {
      person,
      csrf: secret(),
      createdAt: now,
      expiresAt: now + this.#sessionTtlMs,
    };
    await this.#redis.set(
      this.#keys.webSession(hashOf(id)),
      JSON.stringify(session),
      'PX',
      this.#sessionTtlMs,
    );
    return { id, session };
  }

  /** The live session behind a cookie value. */
  async session(id: string | undefined): Promise<WebSession | undefined> {
    if (id === undefined || !SHAPE.test(id)) return undefined;
    const raw = await this.#redis.get(this.#keys.webSession(hashOf(id)));
    if (!raw) return undefined;
    const session = JSON.parse(raw) as WebSession;
    return session.expiresAt > this.#now() ? session : undefined;
  }

  async signOut(id: string | undefined): Promise<void> {
    if (id === undefined || !SHAPE.test(id)) return;
    await this.#redis.del(this.#keys.webSession(hashOf(id)));
  }
}
