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
 *       pub/sub channel, history TTL ms, id floor, deadline (epoch ms, Redis's clock).
 * Returns the message JSON, exactly as published, or the error `RTBENCH_LATE <ms>`.
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
local id = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[8])
if id <= floor then
  id = floor + 1
  redis.call('SET', KEYS[1], id)
end
local json = '{"id":' .. string.format('%d', id) .. ',"channel":' .. ARGV[1] ..
  ',"ts":' .. ARGV[2] .. ',"body":' .. ARGV[3] .. '}'
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
 * KEYS: presence. ARGV: user, now (epoch ms), ttl ms.
 * The key's own TTL only ever grows, so a short touch never evicts a longer one.
 */
export const TOUCH_PRESENCE_SCRIPT = `
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`;
