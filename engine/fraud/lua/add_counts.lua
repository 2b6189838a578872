#!lua
-- One counter of the fraud guard: KEYS[1] a hash of bucket -> count;
-- ARGV[1] the oldest bucket kept, ARGV[2] the TTL in seconds, then bucket,
-- delta pairs (maybe none). Adds the deltas, removes buckets before the
-- oldest and answers the others as bucket, count, bucket, count, ...
local key = KEYS[1]
local oldest = tonumber(ARGV[1])
for i = 3, #ARGV, 2 do
  redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1])
end
local held = redis.call('HGETALL', key)
local kept = {}
for i = 1, #held, 2 do
  if tonumber(held[i]) < oldest then
    redis.call('HDEL', key, held[i])
  else
    kept[#kept + 1] = held[i]
    kept[#kept + 1] = held[i + 1]
  end
end
if #kept > 0 and #ARGV > 2 then
  redis.call('EXPIRE', key, ARGV[2])
end
return kept
