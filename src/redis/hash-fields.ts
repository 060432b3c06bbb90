// A hash's fields as a script answers them: HGETALL inside Lua gives a flat list (field, value, …), not
// the object ioredis makes of a plain HGETALL's reply.

/** The fields and values of a flat HGETALL reply, as an object. */
export function hashFields(flat: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
  return fields;
}
