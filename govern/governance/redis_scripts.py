"""The Redis ledger's Lua scripts: each runs atomically on the server.

Keys of one limit's window (`<prefix>:{w,z,a}:<limit id>:<window start>`):
- `w` hash: `spent` (settled) and `reserved` (held by open reservations);
- `z` sorted set: the reservations holding an amount, scored by when they expire;
- `a` hash: the amount each of those reservations holds.
All three expire a grace period after the window resets (never, for `never` windows).

A reservation record `<prefix>:r:<id>` is a hash: `s` (state: held, settled, released),
`e` (expiry, epoch seconds) and `c` (its claims as JSON, every number a string, written
by the client: [limit id, w key, z key, a key, amount, "1" if concurrent, window ttl base
= the window's reset epoch or "-1"]). Settle and release find the window keys in the
record, so the scripts need a standalone Redis (or Sentinel), not Redis Cluster.

Numbers cross into Lua as doubles: amounts up to 2**53 are exact; integers are written
back with string.format('%d') because Lua's default number format would use exponents.
"""

from __future__ import annotations

_COMMON = """
local function int(x) return string.format('%d', x) end

-- Free what lapsed reservations hold in one window.
local function purge(w, z, a, now)
  local gone = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #gone == 0 then return end
  local freed = 0
  for _, member in ipairs(gone) do
    freed = freed + tonumber(redis.call('HGET', a, member) or '0')
    redis.call('HDEL', a, member)
  end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
  redis.call('HINCRBY', w, 'reserved', int(-freed))
end

local function counters(w)
  local v = redis.call('HMGET', w, 'spent', 'reserved')
  return tonumber(v[1] or '0'), tonumber(v[2] or '0')
end

local function keep(key, ttl_ms)
  if ttl_ms > 0 then redis.call('PEXPIRE', key, int(ttl_ms)) end
end
"""

RESERVE = (
    _COMMON
    + """
-- KEYS: record, then (w, z, a) per claim.
-- ARGV: id, now, expires_at, record ttl ms, claims json,
--       then per claim: limit, optimistic (0/1), amount, window ttl ms (-1: none).
local id, now, expires = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local state = redis.call('HMGET', KEYS[1], 's', 'e')
if state[1] then
  if state[1] == 'held' and tonumber(state[2]) > now then return {2, state[2]} end
  return {3}
end
local n = (#KEYS - 1) / 3
local out = {1}
for i = 1, n do
  local w, z, a = KEYS[3 * i - 1], KEYS[3 * i], KEYS[3 * i + 1]
  local base = 5 + 4 * (i - 1)
  local limit, amount = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 3])
  purge(w, z, a, now)
  local spent, reserved = counters(w)
  local ok
  if ARGV[base + 2] == '1' then ok = spent < limit else ok = spent + reserved + amount <= limit end
  if not ok then return {0, i, int(spent), int(reserved)} end
  out[#out + 1] = int(spent)
  out[#out + 1] = int(reserved + amount)
end
for i = 1, n do
  local w, z, a = KEYS[3 * i - 1], KEYS[3 * i], KEYS[3 * i + 1]
  local base = 5 + 4 * (i - 1)
  local amount, ttl = ARGV[base + 3], tonumber(ARGV[base + 4])
  redis.call('HINCRBY', w, 'reserved', amount)
  redis.call('ZADD', z, expires, id)
  redis.call('HSET', a, id, amount)
  keep(w, ttl)
  keep(z, ttl)
  keep(a, ttl)
end
redis.call('HSET', KEYS[1], 's', 'held', 'e', expires, 'c', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return out
"""
)

FINISH = (
    _COMMON
    + """
-- Settle (charge) or release (charge nothing) a reservation.
-- KEYS: record. ARGV: id, now, 'settle' or 'release', retention ms, grace ms,
--       then pairs (limit id, actual amount) for settle.
local id, now, action = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local retention, grace = tonumber(ARGV[4]), tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 's', 'e', 'c')
if not state[1] then return 'unknown' end
if state[1] == 'settled' then return action == 'settle' and 'already_settled' or 'finished' end
if state[1] == 'released' then return action == 'settle' and 'released' or 'finished' end
local live = tonumber(state[2]) > now
local actual = {}
for i = 6, #ARGV, 2 do actual[ARGV[i]] = ARGV[i + 1] end
for _, c in ipairs(cjson.decode(state[3])) do
  local limit_id, w, z, a, amount, concurrent, reset = c[1], c[2], c[3], c[4], c[5], c[6], c[7]
  -- Still in the sorted set: not purged yet, so its amount still counts as reserved.
  if redis.call('ZREM', z, id) == 1 then
    redis.call('HDEL', a, id)
    redis.call('HINCRBY', w, 'reserved', int(-tonumber(amount)))
  end
  if action == 'settle' and concurrent ~= '1' then
    redis.call('HINCRBY', w, 'spent', actual[limit_id] or amount)
    if tonumber(reset) >= 0 then
      keep(w, math.max(tonumber(reset) - now, 0) * 1000 + grace)
    end
  end
end
redis.call('HSET', KEYS[1], 's', action == 'settle' and 'settled' or 'released')
redis.call('PEXPIRE', KEYS[1], int(retention))
if action == 'settle' then return 'settled' end
return live and 'held' or 'expired'
"""
)

USAGE = (
    _COMMON
    + """
-- KEYS: (w, z, a) per limit. ARGV: now. Returns spent, reserved per limit.
local now = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS / 3 do
  local w, z, a = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  purge(w, z, a, now)
  local spent, reserved = counters(w)
  out[#out + 1] = int(spent)
  out[#out + 1] = int(reserved)
end
return out
"""
)

RESTORE = (
    _COMMON
    + """
-- KEYS: w per limit. ARGV: per limit, amount and window ttl ms (-1: none).
-- Seeds `spent` where the window has none yet; returns 1 or 0 per limit.
local out = {}
for i = 1, #KEYS do
  local w = KEYS[i]
  if redis.call('HEXISTS', w, 'spent') == 0 then
    redis.call('HSET', w, 'spent', ARGV[2 * i - 1])
    keep(w, tonumber(ARGV[2 * i]))
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
"""
)
