-- Hand a shard's stored deliveries of an account to the parked list, where
-- any shard with a receiving bind claims them; the stream and its entry in
-- the set go once it is empty.
-- KEYS[1] the shard's stream of the account, KEYS[2] the account's parked
-- list, KEYS[3] the shard's set of accounts with a stream in the bucket.
-- ARGV[1] most entries to move, ARGV[2] the account, ARGV[3] the parked
-- list's cap, ARGV[4] idle TTL (s).
-- Returns {moved, dropped by the cap, entries left in the stream}.
local entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[1])
local moved, dropped = #entries, 0
if moved > 0 then
  local ids, values = {}, {}
  for i, entry in ipairs(entries) do
    ids[i] = entry[1]
    values[i] = entry[2][2]
  end
  local cap = tonumber(ARGV[3])
  local length = redis.call('RPUSH', KEYS[2], unpack(values))
  if length > cap then dropped = length - cap end
  redis.call('LTRIM', KEYS[2], -cap, -1)
  redis.call('EXPIRE', KEYS[2], ARGV[4])
  redis.call('XDEL', KEYS[1], unpack(ids))
end
local left = redis.call('XLEN', KEYS[1])
if left == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[3], ARGV[2])
end
return {moved, dropped, left}
