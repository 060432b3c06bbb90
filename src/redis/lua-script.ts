// A Lua script sent by its SHA1 (EVALSHA) rather than whole each time (EVAL), loaded by the server the
// first time it does not know it (NOSCRIPT): ioredis' `defineCommand`, given a name of its own per
// script so any connection (or pipeline, or MULTI block on it) runs it without the caller defining it.
// A script's text is sent once per server, not once per command: the hot path's scripts are a few
// hundred bytes to a few kilobytes each.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

type Arg = string | number | Buffer;
type Defined = Record<string, (...args: Arg[]) => Promise<unknown>>;

/** A script's command name on a connection: its SHA1's start, and its number of keys or `var`. */
const commandName = (lua: string, keys: number | 'var') =>
  `vmops_${createHash('sha1').update(lua).digest('hex').slice(0, 16)}_${keys}`;

/** The connection's command for a script, defined the first time it is asked for. */
function commandOn(redis: Redis, name: string, definition: { lua: string; numberOfKeys?: number }) {
  const commands = redis as unknown as Defined;
  if (typeof commands[name] !== 'function') redis.defineCommand(name, definition);
  const command = commands[name];
  if (!command) throw new Error(`ioredis did not define ${name}`);
  return command;
}

/** Lua: a whole script (its own KEYS and ARGV) as the local function `name`, to run inside another. */
export const luaFunction = (name: string, lua: string): string =>
  `local function ${name}(KEYS, ARGV)\n${lua}\nend`;

export class LuaScript {
  readonly #name: string;
  readonly #lua: string;
  readonly #numberOfKeys: number;

  constructor(lua: string, numberOfKeys: number) {
    this.#lua = lua;
    this.#numberOfKeys = numberOfKeys;
    this.#name = commandName(lua, numberOfKeys);
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
    const command = commandOn(redis, this.#name, { numberOfKeys: this.#numberOfKeys, lua: this.#lua });
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
    this.#name = commandName(lua, 'var');
  }

  run(redis: Redis, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    return commandOn(redis, this.#name, { lua: this.#lua }).call(redis, keys.length, ...keys, ...args);
  }
}
