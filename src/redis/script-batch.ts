// Several scripts in one round trip: one Lua script that runs each of them in turn with its own keys
// and arguments, exactly as if each had been sent alone right after the one before (Redis runs a
// script whole, so nothing else comes in between), and answers with each one's answer. A script that
// fails gives back its error and the ones after it still run; like any script that fails, it keeps
// what it wrote before failing. The audit trail sends the appends that wait behind one another this
// way (group commit, audit-trail.ts).
import type { Redis } from 'ioredis';
import { composedScript, type LuaScript, LuaScriptVarKeys, luaFunction } from './lua-script.ts';

type Arg = string | number | Buffer;

/** A script of a batch that failed: what Redis said, as it would have refused the script sent alone. */
export class ScriptFailed extends Error {
  override readonly name = 'ScriptFailed';
}

/** One script to run, with its keys and arguments. */
export interface ScriptCall {
  script: LuaScript;
  keys: readonly string[];
  args: readonly Arg[];
}

/** The scripts as functions (KEYS and ARGV their own), then the loop that runs each call. */
function batchLua(scripts: readonly LuaScript[]): string {
  return `
${scripts.map((script, i) => luaFunction(`s${i + 1}`, script.lua)).join('\n')}
local scripts = {${scripts.map((_, i) => `s${i + 1}`).join(', ')}}
local n = tonumber(ARGV[1])
local results = {}
local k, a = 0, 1 + 3 * n
for i = 1, n do
  local h = 1 + 3 * (i - 1)
  local which, nk, na = tonumber(ARGV[h + 1]), tonumber(ARGV[h + 2]), tonumber(ARGV[h + 3])
  local keys, args = {}, {}
  for j = 1, nk do keys[j] = KEYS[k + j] end
  for j = 1, na do args[j] = ARGV[a + j] end
  k, a = k + nk, a + na
  local ok, result = pcall(scripts[which], keys, args)
  if ok and type(result) == 'table' and result.err then
    results[i] = {0, tostring(result.err)}
  elseif ok then
    results[i] = {1, result or false}
  elseif type(result) == 'table' then
    results[i] = {0, tostring(result.err or result)}
  else
    results[i] = {0, tostring(result)}
  end
end
return results`;
}

/** The batch of these scripts (one per set of scripts, in their order). */
function batchFor(scripts: readonly LuaScript[]): LuaScriptVarKeys {
  return composedScript(
    `batch\n${scripts.map((script) => script.name).join(' ')}`,
    () => new LuaScriptVarKeys(batchLua(scripts)),
  );
}

/**
 * Runs `calls` in one script, in order; resolves with each one's answer, or the error it failed with
 * (a ScriptFailed, with what Redis said). One call is sent as itself.
 */
export async function runScripts(redis: Redis, calls: readonly ScriptCall[]): Promise<unknown[]> {
  const [only] = calls;
  if (calls.length === 1 && only) {
    return [await only.script.run(redis, only.keys, only.args).catch((error: unknown) => error)];
  }
  const scripts: LuaScript[] = [];
  const header: number[] = [calls.length];
  for (const call of calls) {
    let which = scripts.indexOf(call.script);
    if (which < 0) which = scripts.push(call.script) - 1;
    header.push(which + 1, call.keys.length, call.args.length);
  }
  const answers = (await batchFor(scripts).run(
    redis,
    calls.flatMap((call) => call.keys),
    [...header, ...calls.flatMap((call) => call.args)],
  )) as [number, unknown][];
  return answers.map(([ok, answer]) => (ok === 1 ? answer : new ScriptFailed(String(answer))));
}
