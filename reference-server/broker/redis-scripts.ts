/**
 * The Lua scripts behind the Redis broker. Each runs atomically in Redis, so
 * what several instances do to one channel at the same moment is serialised:
 * id assignment, history and PUBLISH happen as one step, and PUBLISH order is
 * id order.
 *
 * Per channel (keys share a `{channel}` hash tag so a cluster keeps them on one slot):
 *   counter  string, the last id assigned
 *   history  sorted set, member = message JSON, score = id
 *   presence sorted set, member = user, score = expiry (epoch ms)
 *   members  set of users (tiered fan-out)
 *   conns    hash, online member -> its open connections
 *   online   set of the online members (what SDIFF needs)
 *   unread   hash, offline member -> messages published while it was away
 */

// Drops the oldest history entries whose ts is before the cutoff. The ts is read
// from the JSON the publish script wrote (`{"id":N,"channel":"...","ts":T,"body":`);
// inside the channel's JSON string every quote is escaped, so the first `"ts":` is
// the field. Trimming stops at the first recent entry, so history stays contiguous
// even when instances' clocks disagree a little. Returns the id of the oldest
// entry left (nil when none), so a read need not fetch that entry again.
const TRIM_BY_AGE = `
local function trimByAge(key, cutoffMs)
  while true do
    local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if not head[1] then return nil end
    local ts = tonumber(string.match(head[1], '"ts":([^,]+),'))
    if ts == nil or ts >= cutoffMs then return tonumber(head[2]) end
    redis.call('ZREMRANGEBYRANK', key, 0, 0)
  end
end
`;

/**
 * KEYS: counter, history.
 * ARGV: channel as JSON, ts as JSON number, body as JSON, maxCount, age cutoff (epoch ms),
 *       pub/sub channel, history TTL ms, id floor, deadline (epoch ms, Redis's clock),
 *       dedupe key name ('' for none), dedupe window ms.
 * Returns the message JSON, exactly as published, or the error `RTBENCH_LATE <ms>`.
 *
 * The dedupe key (a publish's Idempotency-Key, under the channel's hash tag so
 * it shares the slot; an ARGV rather than a KEY so the scripts keep a fixed key
 * count) holds the id it stored, for the window: a repeat returns that message
 * from history and stores nothing. It is one more key per publish only when a
 * key is given. A message trimmed from history meanwhile is answered with its id
 * and the repeat's body and ts.
 *
 * The floor is the highest id the calling instance has seen on the channel: after
 * Redis lost its data (a restart without persistence) ids continue above it
 * instead of starting again at 1, which every cursor would take for old news.
 *
 * The deadline: a Redis that was frozen runs the commands queued on its sockets
 * when it wakes up, long after the publisher was told its publish failed. Past
 * the deadline the script refuses, before taking an id, so a failed publish
 * never shows up later (and a retrying publisher creates no duplicate).
 */
export const PUBLISH_SCRIPT = `${TRIM_BY_AGE}
-- TIME before writes needs effects replication (the default since Redis 5; a no-op in 7).
if redis.replicate_commands then redis.replicate_commands() end
local now = redis.call('TIME')
local lateMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[9])
if lateMs > 0 then
  return redis.error_reply('RTBENCH_LATE ' .. string.format('%d', lateMs))
end
if ARGV[10] ~= '' then
  local seenId = redis.call('GET', ARGV[10])
  if seenId then
    local stored = redis.call('ZRANGEBYSCORE', KEYS[2], seenId, seenId)[1]
    if stored then return stored end
    return '{"id":' .. seenId .. ',"channel":' .. ARGV[1] .. ',"ts":' .. ARGV[2] .. ',"body":' .. ARGV[3] .. '}'
  end
end
local id = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[8])
if id <= floor then
  id = floor + 1
  redis.call('SET', KEYS[1], id)
end
local json = '{"id":' .. string.format('%d', id) .. ',"channel":' .. ARGV[1] ..
  ',"ts":' .. ARGV[2] .. ',"body":' .. ARGV[3] .. '}'
if ARGV[10] ~= '' then redis.call('SET', ARGV[10], id, 'PX', ARGV[11]) end
redis.call('ZADD', KEYS[2], id, json)
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[4]) - 1)
trimByAge(KEYS[2], tonumber(ARGV[5]))
redis.call('PEXPIRE', KEYS[2], ARGV[7])
redis.call('PUBLISH', ARGV[6], json)
return json
`;

/**
 * KEYS: counter, history.
 * ARGV: since, limit, age cutoff (epoch ms), maxBytes.
 * Returns { lastId, oldest retained id (lastId + 1 when none), JSON of messages with id > since }:
 * at most `limit` messages and about `maxBytes` of JSON (the first always fits).
 *
 * Messages are fetched in batches sized from the average message so far, so a
 * byte-capped page of large messages never makes Redis copy much more than
 * the page.
 */
export const READ_SCRIPT = `${TRIM_BY_AGE}
local oldest = trimByAge(KEYS[2], tonumber(ARGV[3]))
local lastId = tonumber(redis.call('GET', KEYS[1]) or '0')
local oldestId = oldest or (lastId + 1)
local limit = tonumber(ARGV[2])
local maxBytes = tonumber(ARGV[4])
local messages = {}
local bytes = 0
local offset = 0
local want = 1
while #messages < limit do
  local batch = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'LIMIT', offset, want)
  for _, json in ipairs(batch) do
    if #messages > 0 and bytes + #json > maxBytes then return { lastId, oldestId, messages } end
    messages[#messages + 1] = json
    bytes = bytes + #json
  end
  if #batch < want then break end
  offset = offset + #batch
  -- Next batch: as many as the bytes left hold at the average size so far.
  want = math.min(limit - #messages, math.max(1, math.floor((maxBytes - bytes) * #messages / bytes)))
end
return { lastId, oldestId, messages }
`;

/**
 * KEYS: presence. ARGV: now (epoch ms), ttl ms, then the users touched.
 * The key's own TTL only ever grows, so a short touch never evicts a longer one.
 * Returns how many users it touched.
 */
export const TOUCH_PRESENCE_SCRIPT = `
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
for i = 3, #ARGV do
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return #ARGV - 2
`;

/**
 * Tiered fan-out: the publish script, then one HINCRBY per offline member,
 * inside the same script. Done in a pipeline after the publish instead, a
 * member coming back between the id assignment and its HINCRBY would read
 * its counter without that message and find it counted again next time.
 * KEYS: counter, history, members, online, unread. ARGV: as PUBLISH_SCRIPT.
 */
export const PUBLISH_TIERED_SCRIPT = withUnreadCounting(PUBLISH_SCRIPT);

/** `script` (a publish script returning `json`) that also counts unread messages, as above. */
function withUnreadCounting(script: string): string {
  return script.replace(
    "\nreturn json\n",
    `
for _, member in ipairs(redis.call('SDIFF', KEYS[3], KEYS[4])) do
  redis.call('HINCRBY', KEYS[5], member, 1)
end
return json
`,
  );
}

/**
 * The `redis-sharded` broker: the same script with SPUBLISH (Redis 7 sharded
 * pub/sub). Its channel carries the `{channel}` hash tag of the keys, so in a
 * cluster the message stays on the shard that owns the channel's slot instead
 * of being copied to every node as PUBLISH is.
 */
export const SPUBLISH_SCRIPT = PUBLISH_SCRIPT.replace(
  "redis.call('PUBLISH', ARGV[6], json)",
  "redis.call('SPUBLISH', ARGV[6], json)",
);
export const SPUBLISH_TIERED_SCRIPT = withUnreadCounting(SPUBLISH_SCRIPT);

// --- redis-streams --------------------------------------------------------
// History is a stream whose entry ids are the message ids: entry `<id>-0`
// holds field `m` = the message JSON. XADD with an explicit id keeps the
// integer, gap-free ids the wire protocol needs (from the same INCR counter),
// and instances read the live feed from the stream itself with XREAD.

// The stream's oldest entries whose ts is before the cutoff are deleted, as
// TRIM_BY_AGE does for the sorted set. Returns the oldest id left (nil: none).
const STREAM_TRIM_BY_AGE = `
local function trimByAge(key, cutoffMs)
  while true do
    local head = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)
    if not head[1] then return nil end
    local ts = tonumber(string.match(head[1][2][2], '"ts":([^,]+),'))
    if ts == nil or ts >= cutoffMs then return tonumber(string.match(head[1][1], '^(%d+)')) end
    redis.call('XDEL', key, head[1][1])
  end
end
`;

/**
 * KEYS: counter, stream. ARGV: as PUBLISH_SCRIPT (ARGV[6], the pub/sub
 * channel, is unused: instances XREAD the stream).
 * `MAXLEN ~` lets Redis trim whole radix-tree nodes only (cheap; up to about
 * 100 entries more than maxCount stay); reads hide what is beyond maxCount.
 */
export const STREAM_PUBLISH_SCRIPT = PUBLISH_SCRIPT.replace(TRIM_BY_AGE, STREAM_TRIM_BY_AGE)
  .replace(
    "redis.call('ZADD', KEYS[2], id, json)\nredis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[4]) - 1)",
    "redis.call('XADD', KEYS[2], 'MAXLEN', '~', math.max(1, tonumber(ARGV[4])), string.format('%d', id) .. '-0', 'm', json)",
  )
  .replace(
    "redis.call('ZRANGEBYSCORE', KEYS[2], seenId, seenId)[1]",
    "(redis.call('XRANGE', KEYS[2], seenId .. '-0', seenId .. '-0')[1] or {nil, {}})[2][2]",
  )
  .replace("redis.call('PUBLISH', ARGV[6], json)\n", "");
export const STREAM_PUBLISH_TIERED_SCRIPT = withUnreadCounting(STREAM_PUBLISH_SCRIPT);

/**
 * KEYS: counter, stream. ARGV: since, limit, age cutoff, maxBytes, maxCount.
 * Returns what READ_SCRIPT returns. The oldest id a reader may see is the
 * later of the stream's first entry and lastId - maxCount + 1 (MAXLEN ~ keeps
 * a little more than maxCount).
 */
export const STREAM_READ_SCRIPT = `${STREAM_TRIM_BY_AGE}
local oldest = trimByAge(KEYS[2], tonumber(ARGV[3]))
local lastId = tonumber(redis.call('GET', KEYS[1]) or '0')
local oldestId = oldest or (lastId + 1)
local countFloor = lastId - tonumber(ARGV[5]) + 1
if oldestId < countFloor then oldestId = countFloor end
local limit = tonumber(ARGV[2])
local maxBytes = tonumber(ARGV[4])
local messages = {}
local bytes = 0
local from = math.max(tonumber(ARGV[1]) + 1, oldestId)
local want = 1
while #messages < limit and from <= lastId do
  local batch = redis.call('XRANGE', KEYS[2], string.format('%d', from) .. '-0', '+', 'COUNT', want)
  for _, entry in ipairs(batch) do
    local json = entry[2][2]
    if #messages > 0 and bytes + #json > maxBytes then return { lastId, oldestId, messages } end
    messages[#messages + 1] = json
    bytes = bytes + #json
  end
  if #batch < want then break end
  from = tonumber(string.match(batch[#batch][1], '^(%d+)')) + 1
  want = math.min(limit - #messages, math.max(1, math.floor((maxBytes - bytes) * #messages / bytes)))
end
return { lastId, oldestId, messages }
`;

/**
 * KEYS: counter. ARGV: floor id. Raises the counter to the floor when it is
 * below (Redis lost its data and an instance knows ids were delivered up to
 * the floor); returns the counter as it was.
 */
export const RAISE_COUNTER_SCRIPT = `
local before = tonumber(redis.call('GET', KEYS[1]) or '0')
if before < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return before
`;

/**
 * KEYS: epoch. ARGV: a new random epoch. Returns the stored epoch, storing
 * the new one first when there is none: every instance of a run reads the same
 * value until Redis loses its data, then all adopt the first new one written.
 */
export const EPOCH_SCRIPT = `
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  redis.call('SET', KEYS[1], ARGV[1])
  epoch = ARGV[1]
end
return epoch
`;

/**
 * A member's connection opened. KEYS: members, conns, online, unread, counter.
 * ARGV: user. Returns { unread, lastId } and resets the counter, or nil for a non-member.
 */
export const MEMBER_ONLINE_SCRIPT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return false end
if redis.call('HINCRBY', KEYS[2], ARGV[1], 1) == 1 then redis.call('SADD', KEYS[3], ARGV[1]) end
local unread = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0')
redis.call('HDEL', KEYS[4], ARGV[1])
local lastId = tonumber(redis.call('GET', KEYS[5]) or '0')
return { unread, lastId }
`;

/**
 * A member's connection closed. KEYS: members, conns, online, unread, counter.
 * ARGV: user, last id it was sent. When its last connection closes it is
 * offline, and what was published but not sent to it is unread.
 */
export const MEMBER_OFFLINE_SCRIPT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[2], ARGV[1], -1) > 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
local unsent = tonumber(redis.call('GET', KEYS[5]) or '0') - tonumber(ARGV[2])
if unsent > 0 then redis.call('HINCRBY', KEYS[4], ARGV[1], unsent) end
return unsent
`;
