/**
 * The Lua scripts of RedisStorage. Each runs atomically on the server, so no client ever
 * sees a state between its steps, and every key a script touches is passed in KEYS (the
 * index and one data hash), which keeps them valid on Redis Cluster when the prefix
 * carries a hash tag such as `{checkpoints}:`.
 *
 * An index entry is `<dataId> <createdAt in ms>`; `<dataId>` is `<handle token>.<attempt>`.
 */

/**
 * Publishes a staged data hash as checkpoint ARGV[1].
 * KEYS: index, staged data hash. ARGV: stored identifier, handle token, expected key
 * count, data id. Returns `{1, entry}` when published (or when this handle's earlier
 * attempt already was: a retry after a lost reply), `{0, entry}` when another commit
 * holds the identifier, `{2, ''}` when the staged hash is not complete (expired).
 *
 * @example
 * ```ts
 * await client.eval(PUBLISH, 2, index, dataKey, identifier, token, String(count), dataId);
 * ```
 */
export const PUBLISH = `
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if entry then
  local published = string.match(entry, '^(%S+)')
  if published ~= ARGV[4] then redis.call('UNLINK', KEYS[2]) end
  if string.sub(published, 1, #ARGV[2] + 1) == ARGV[2] .. '.' then return {1, entry} end
  return {0, entry}
end
if redis.call('HLEN', KEYS[2]) ~= tonumber(ARGV[3]) then return {2, ''} end
redis.call('PERSIST', KEYS[2])
local t = redis.call('TIME')
entry = ARGV[4] .. ' ' .. t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
redis.call('HSET', KEYS[1], ARGV[1], entry)
return {1, entry}
`;

/**
 * Reads the keys of checkpoint ARGV[1] if its index entry is still ARGV[2].
 * KEYS: index, data hash. Returns the field names, or false when the entry changed.
 *
 * @example
 * ```ts
 * const keys = await client.eval(KEYS_IF_CURRENT, 2, index, dataKey, identifier, entry);
 * ```
 */
export const KEYS_IF_CURRENT = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return false end
return redis.call('HKEYS', KEYS[2])
`;

/**
 * Removes checkpoint ARGV[1] if its index entry is still ARGV[2]: the index entry and
 * the data hash go together. KEYS: index, data hash. Returns 1, or 0 when it changed.
 *
 * @example
 * ```ts
 * const removed = await client.eval(REMOVE_IF_CURRENT, 2, index, dataKey, identifier, entry);
 * ```
 */
export const REMOVE_IF_CURRENT = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('UNLINK', KEYS[2])
return 1
`;
