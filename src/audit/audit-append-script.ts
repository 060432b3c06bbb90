// The append as Lua: alone, or followed in the same script by another module's step that runs only
// when the entry was appended (the pipeline releases a command's event claim this way).
import { composedScript, LuaScript, luaFunction } from '../redis/lua-script.ts';

/**
 * Appends if the head is still ARGV[1] and the sequence number ARGV[4] - 1: {1, id}; else {0, the head
 * now, the sequence number now}, to compute the entry again. The entry is stored compactly: ARGV[2] its
 * content (see `compact`), ARGV[5] the start of its link and ARGV[6] its hash in base64url (the head
 * keeps it in hex, ARGV[3]).
 */
export const APPEND = `
local head = redis.call('GET', KEYS[2]) or ''
local seq = tonumber(redis.call('GET', KEYS[3]) or '0')
if head ~= ARGV[1] or seq + 1 ~= tonumber(ARGV[4]) then return {0, head, tostring(seq)} end
local id = redis.call('XADD', KEYS[1], '*', 'entry', ARGV[2], 'prev', ARGV[5], 'hash', ARGV[6], 'seq', ARGV[4])
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SET', KEYS[3], ARGV[4])
return {1, id}
`;
export const APPEND_SCRIPT = new LuaScript(APPEND, 3);

/**
 * A step of another module's run in the same script as an append, only when the entry was appended:
 * its own Lua (which sees its own KEYS and ARGV), keys and arguments. What is written down and what it
 * does happen together or not at all (the pipeline releases a command's event claim this way).
 */
export interface AfterAppend {
  lua: string;
  keys: readonly string[];
  args: readonly (string | number)[];
}

/** The append, then `after` with the keys after the append's three and the arguments after its six. */
function appendThen(lua: string): string {
  return `
${luaFunction('append', APPEND)}
${luaFunction('after', lua)}
local keys, args = {}, {}
for i = 4, #KEYS do keys[#keys + 1] = KEYS[i] end
for i = 7, #ARGV do args[#args + 1] = ARGV[i] end
local done = append({KEYS[1], KEYS[2], KEYS[3]}, {ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]})
if done[1] == 1 then after(keys, args) end
return done`;
}

/** The append followed by `step` (one script per step's Lua and number of keys). */
export function appendThenScript(step: AfterAppend): LuaScript {
  return composedScript(
    `append then\n${step.keys.length}\n${step.lua}`,
    () => new LuaScript(appendThen(step.lua), 3 + step.keys.length),
  );
}
