// A Lua script sent by its SHA1 (EVALSHA) rather than whole each time (EVAL), loaded by the server the
// first time it does not know it (NOSCRIPT): ioredis' `defineCommand`, given a name of its own per
// script so any connection (or pipeline, or MULTI block on it) runs it without the caller defining it.
// A script's text is sent once per server, not once per command: the hot path's scripts are a few
// hundred bytes to a few kilobytes each.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

type Arg = string | number | Buffer;
type Defined = Record<string, (...args: Arg[]) => Promise<unknown>>;

export class LuaScript {
  readonly #name: string;
  readonly #lua: string;
  readonly #numberOfKeys: number;

  constructor(lua: string, numberOfKeys: number) {
    this.#lua = lua;
    this.#numberOfKeys = numberOfKeys;
    this.#name = `vmops_${createHash('sha1').update(lua).digest('hex').slice(0, 16)}_${numberOfKeys}`;
  }

  /** The script's Lua. */
  get lua(): string {
    return this.#lua;
  }

  /** Its name on every connection it ran on (one per text and number of keys). */
  get name(): string {
    return this.#name;
  }

  /** Runs the script on `redis` with exactly `numberOfKeys` keys, then its arguments. */
  run(redis: Redis, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    if (keys.length !== this.#numberOfKeys) {
      throw new Error(`a script of ${this.#numberOfKeys} keys was given ${keys.length}`);
    }
    const defined = redis as unknown as Defined;
    if (typeof defined[this.#name] !== 'function') {
      redis.defineCommand(this.#name, { numberOfKeys: this.#numberOfKeys, lua: this.#lua });
    }
    const command = defined[this.#name];
    if (!command) throw new Error(`ioredis did not define ${this.#name}`);
    return command.call(redis, ...keys, ...args);
  }
}

/** Scripts composed of parts (another module's step inlined), by what they were made of. */
const composed = new Map<string, LuaScript | LuaScriptVarKeys>();

/**
 * A script composed of parts: made by `make` the first time `name` (the parts: their Lua, sizes, kind)
 * is asked for, then the same one, so each is sent whole to a server once.
 */
export function composedScript<S extends LuaScript | LuaScriptVarKeys>(name: string, make: () => S): S {
  let script = composed.get(name) as S | undefined;
  if (!script) {
    script = make();
    composed.set(name, script);
  }
  return script;
}

/**
 * A script whose number of keys varies from call to call: one script on the server, given its number
 * of keys with each call, as EVAL takes it (ioredis' `defineCommand` without `numberOfKeys`).
 */
export class LuaScriptVarKeys {
  readonly #lua: string;
  readonly #name: string;

  constructor(lua: string) {
    this.#lua = lua;
    this.#name = `vmops_${createHash('sha1').update(lua).digest('hex').slice(0, 16)}_var`;
  }

  run(redis: Redis, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    const defined = redis as unknown as Defined;
    if (typeof defined[this.#name] !== 'function') redis.defineCommand(this.#name, { lua: this.#lua });
    const command = defined[this.#name];
    if (!command) throw new Error(`ioredis did not define ${this.#name}`);
    return command.call(redis, keys.length, ...keys, ...args);
  }
}
