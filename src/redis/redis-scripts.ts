/**
 * The Lua scripts of RedisStorage. Each runs atomically on the server, so no client ever
 * sees a state between its steps, and every key a script touches is passed in KEYS (the
 * index and one data hash), which keeps them valid on Redis Cluster when the prefix
 * carries a hash tag such as `{checkpoints}:`.
 *
 * The storage registers them with ioredis's `defineCommand` (see {@link SCRIPTS}), so
 * each is sent in full once per connection and then called by its SHA1 (EVALSHA); after
 * a `SCRIPT FLUSH` or a failover, ioredis sees `NOSCRIPT` and sends the text again.
 * (A NOSCRIPT reply means the script did not run, so that resend can never apply twice.)
 *
 * An index entry is `<dataId> <createdAt in ms>`; `<dataId>` is `<handle token>.<attempt>`.
 */

/**
 * Writes a small checkpoint and publishes it, in one round trip: the commit of every
 * checkpoint within RedisStorage's one-round-trip bound (see `redis-storage.ts`).
 * KEYS: index, new data hash. ARGV: stored identifier, handle token, data id, then key
 * and value pairs. Returns `{1, entry}` when published (or when this handle's earlier
 * attempt already was: a retry after a lost reply), `{0, entry}` when another commit
 * holds the identifier. The identifier is checked before anything is written, so a
 * refused commit leaves nothing behind, and nothing ever needs a time-to-live.
 *
 * The pairs are spread into one HSET with `unpack`, which Redis's Lua allows up to
 * about 8,000 values (LUAI_MAXCSTACK); the storage's bound of 1,000 keys (2,000 values)
 * stays well inside it.
 *
 * @example
 * ```ts
 * await client.eval(WRITE_AND_PUBLISH, 2, index, dataKey, identifier, token, dataId, 'k', bytes);
 * ```
 */
export const WRITE_AND_PUBLISH = `
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if entry then
  local published = string.match(entry, '^(%S+)')
  if string.sub(published, 1, #ARGV[2] + 1) == ARGV[2] .. '.' then return {1, entry} end
  return {0, entry}
end
if #ARGV > 3 then redis.call('HSET', KEYS[2], unpack(ARGV, 4)) end
local t = redis.call('TIME')
entry = ARGV[3] .. ' ' .. t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
redis.call('HSET', KEYS[1], ARGV[1], entry)
return {1, entry}
`;

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
 * KEYS: index, data hash. ARGV: stored identifier, entry, the most keys a checkpoint
 * may have. Returns the field names; false when the entry changed; the count alone
 * when it is over the bound (a damaged hash), so a reply never grows past it.
 *
 * @example
 * ```ts
 * const keys = await client.eval(KEYS_IF_CURRENT, 2, index, dataKey, identifier, entry, '1000000');
 * ```
 */
export const KEYS_IF_CURRENT = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return false end
local n = redis.call('HLEN', KEYS[2])
if n > tonumber(ARGV[3]) then return n end
return redis.call('HKEYS', KEYS[2])
`;

/**
 * Lists the index: its field names, or their count alone when it is over ARGV[1].
 * KEYS: index.
 *
 * @example
 * ```ts
 * const names = await client.eval(LIST, 1, index, '10000000');
 * ```
 */
export const LIST = `
local n = redis.call('HLEN', KEYS[1])
if n > tonumber(ARGV[1]) then return n end
return redis.call('HKEYS', KEYS[1])
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

/**
 * The scripts under the names RedisStorage registers them with (`defineCommand`), with
 * how many of their arguments are keys. The names carry the library's name, since a
 * borrowed client is the application's own and may define commands of its own.
 *
 * @example
 * ```ts
 * for (const [name, { keys, lua }] of Object.entries(SCRIPTS))
 *   client.defineCommand(name, { numberOfKeys: keys, lua });
 * ```
 */
export const SCRIPTS = {
  checkpointableWriteAndPublish: { keys: 2, lua: WRITE_AND_PUBLISH },
  checkpointablePublish: { keys: 2, lua: PUBLISH },
  checkpointableKeysIfCurrent: { keys: 2, lua: KEYS_IF_CURRENT },
  checkpointableRemoveIfCurrent: { keys: 2, lua: REMOVE_IF_CURRENT },
  checkpointableList: { keys: 1, lua: LIST },
} as const;
