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
 *
 * The order set (`<prefix>order`, a sorted set, every score 0) holds one member per
 * committed identifier: its sort key (UTF-16 code units, big-endian, see `sort-key.ts`),
 * two zero bytes, then the stored identifier. Redis orders equal-score members by their
 * bytes, which for these members is JavaScript's string order, so ZRANGEBYLEX serves
 * prefix listings. (No code unit of a valid name is 0, so the zero pair always sits at an
 * even offset right after the sort key.) The empty member marks a set that holds every
 * committed identifier: a commit to an empty store adds it, and open() builds the set of
 * a store written before it existed, then adds it.
 *
 * The summary hash (`<prefix>summary`) holds, per committed identifier, what listing needs
 * besides the index entry: `{"l": label, "k": "key/size\\key/size"}` (JSON), written by the
 * same script that publishes the checkpoint and removed with it, so that summarizing many
 * checkpoints is one script reading two hashes. (A checkpoint whose summary would pass
 * 2 MiB has none; listing then reads its data hash.)
 */

/**
 * Writes a small checkpoint and publishes it, in one round trip: the commit of every
 * checkpoint within RedisStorage's one-round-trip bound (see `redis-storage.ts`).
 * KEYS: index, new data hash, order set, summary hash. ARGV: stored identifier, handle
 * token, data id, order member, summary ('' for none), then key and value pairs (the
 * label under its reserved field among them). Returns `{1, entry}` when published (or when this handle's earlier
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
 * await client.eval(WRITE_AND_PUBLISH, 4, index, dataKey, order, summaryKey, identifier, token, dataId, member, summary, 'k', bytes);
 * ```
 */
export const WRITE_AND_PUBLISH = `
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if entry then
  local published = string.match(entry, '^(%S+)')
  if string.sub(published, 1, #ARGV[2] + 1) == ARGV[2] .. '.' then return {1, entry} end
  return {0, entry}
end
if #ARGV > 5 then redis.call('HSET', KEYS[2], unpack(ARGV, 6)) end
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('ZADD', KEYS[3], 0, '') end
redis.call('ZADD', KEYS[3], 0, ARGV[4])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[4], ARGV[1], ARGV[5]) end
local t = redis.call('TIME')
entry = ARGV[3] .. ' ' .. t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
redis.call('HSET', KEYS[1], ARGV[1], entry)
return {1, entry}
`;

/**
 * Publishes a staged data hash as checkpoint ARGV[1].
 * KEYS: index, staged data hash, order set, summary hash. ARGV: stored identifier, handle
 * token, expected field count, data id, order member, summary ('' for none). Returns `{1, entry}` when published (or when this handle's earlier
 * attempt already was: a retry after a lost reply), `{0, entry}` when another commit
 * holds the identifier, `{2, ''}` when the staged hash is not complete (expired).
 *
 * @example
 * ```ts
 * await client.eval(PUBLISH, 4, index, dataKey, order, summaryKey, identifier, token, String(count), dataId, member, summary);
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
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('ZADD', KEYS[3], 0, '') end
redis.call('ZADD', KEYS[3], 0, ARGV[5])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[4], ARGV[1], ARGV[6]) end
local t = redis.call('TIME')
entry = ARGV[4] .. ' ' .. t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
redis.call('HSET', KEYS[1], ARGV[1], entry)
return {1, entry}
`;

/**
 * Reads what a load or a summary needs of checkpoint ARGV[1], if its index entry is
 * still ARGV[2]: its label (the reserved field ARGV[4]), its keys and, when ARGV[6] is
 * '1', the size of each value (HSTRLEN: no value is read).
 * KEYS: index, data hash. ARGV: stored identifier, entry, the most keys a checkpoint may
 * have, label field, the longest stored label in bytes, sizes wanted.
 * Returns false when the entry changed; `{1, n}` when the hash has more keys than the
 * bound and `{2, n}` when the label is longer (damage: the reply never grows past the
 * bounds); otherwise `{0, label or false, field names, sizes}`, the label field among
 * the names.
 *
 * @example
 * ```ts
 * await client.eval(READ_IF_CURRENT, 2, index, dataKey, identifier, entry, '1000000', field, '327680', '1');
 * ```
 */
export const READ_IF_CURRENT = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return false end
local n = redis.call('HLEN', KEYS[2]) - redis.call('HEXISTS', KEYS[2], ARGV[4])
if n > tonumber(ARGV[3]) then return {1, n} end
local length = redis.call('HSTRLEN', KEYS[2], ARGV[4])
if length > tonumber(ARGV[5]) then return {2, length} end
local label = false
if redis.call('HEXISTS', KEYS[2], ARGV[4]) == 1 then label = redis.call('HGET', KEYS[2], ARGV[4]) end
local names = redis.call('HKEYS', KEYS[2])
local sizes = {}
if ARGV[6] == '1' then
  for i, name in ipairs(names) do sizes[i] = redis.call('HSTRLEN', KEYS[2], name) end
end
return {0, label, names, sizes}
`;

/**
 * Lists committed identifiers in a range of the order set, in order, skipping members
 * whose identifier is not in the index (left by a writer that did not keep the set).
 * KEYS: order set, index. ARGV: lowest member (a ZRANGEBYLEX bound), highest member,
 * the most members to return, '1' for descending, members read per step.
 * Returns the members.
 *
 * @example
 * ```ts
 * await client.eval(LIST_RANGE, 2, order, index, '[' + low, '(' + high, '1', '1', '100');
 * ```
 */
export const LIST_RANGE = `
local out = {}
local limit = tonumber(ARGV[3])
local step = tonumber(ARGV[5])
local offset = 0
while #out < limit do
  local members
  if ARGV[4] == '1' then
    members = redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[2], ARGV[1], 'LIMIT', offset, step)
  else
    members = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', offset, step)
  end
  for _, member in ipairs(members) do
    local from = 1
    while true do
      local at = string.find(member, '\\0\\0', from, true)
      if at == nil then break end
      if at % 2 == 1 then
        if redis.call('HEXISTS', KEYS[2], string.sub(member, at + 2)) == 1 then
          out[#out + 1] = member
        end
        break
      end
      from = at + 1
    end
    if #out >= limit then break end
  end
  if #members < step then break end
  offset = offset + step
end
return out
`;

/**
 * Adds order members for identifiers still in the index: how open() builds the order
 * set of a store written before it existed, a batch at a time.
 * KEYS: order set, index. ARGV: stored identifier and member pairs, then '1' on the last
 * batch to mark the set complete. Returns the number of members added.
 *
 * @example
 * ```ts
 * await client.eval(BUILD_ORDER, 2, order, index, 'a', member, '1');
 * ```
 */
export const BUILD_ORDER = `
local added = 0
for i = 1, #ARGV - 1, 2 do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 1 then
    added = added + redis.call('ZADD', KEYS[1], 0, ARGV[i + 1])
  end
end
if ARGV[#ARGV] == '1' then redis.call('ZADD', KEYS[1], 0, '') end
return added
`;

/**
 * Reads the index entries and summaries of many checkpoints at once, each bounded: a
 * field longer than its bound comes back as its length (an integer) instead.
 * KEYS: index, summary hash. ARGV: the longest entry, the longest summary, then the
 * stored identifiers. Returns, per identifier, its entry and its summary (false when absent).
 *
 * @example
 * ```ts
 * await client.eval(SUMMARIZE, 2, index, summaryKey, '256', '2097152', 'a', 'b');
 * ```
 */
export const SUMMARIZE = `
local out = {}
local maxEntry = tonumber(ARGV[1])
local maxSummary = tonumber(ARGV[2])
for i = 3, #ARGV do
  local n = redis.call('HSTRLEN', KEYS[1], ARGV[i])
  if n > maxEntry then out[#out + 1] = n else out[#out + 1] = redis.call('HGET', KEYS[1], ARGV[i]) end
  n = redis.call('HSTRLEN', KEYS[2], ARGV[i])
  if n > maxSummary then out[#out + 1] = n else out[#out + 1] = redis.call('HGET', KEYS[2], ARGV[i]) end
end
return out
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
 * the data hash and the order member go together (and the order set with the last
 * checkpoint, so that an emptied store holds no key), and its summary. KEYS: index, data
 * hash, order set, summary hash. ARGV: stored identifier, entry, order member. Returns 1, or 0 when it changed.
 *
 * @example
 * ```ts
 * const removed = await client.eval(REMOVE_IF_CURRENT, 4, index, dataKey, order, summaryKey, identifier, entry, member);
 * ```
 */
export const REMOVE_IF_CURRENT = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('UNLINK', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('DEL', KEYS[3]) end
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
  checkpointableWriteAndPublish: { keys: 4, lua: WRITE_AND_PUBLISH },
  checkpointablePublish: { keys: 4, lua: PUBLISH },
  checkpointableReadIfCurrent: { keys: 2, lua: READ_IF_CURRENT },
  checkpointableRemoveIfCurrent: { keys: 4, lua: REMOVE_IF_CURRENT },
  checkpointableSummarize: { keys: 2, lua: SUMMARIZE },
  checkpointableList: { keys: 1, lua: LIST },
  checkpointableListRange: { keys: 2, lua: LIST_RANGE },
  checkpointableBuildOrder: { keys: 2, lua: BUILD_ORDER },
} as const;
