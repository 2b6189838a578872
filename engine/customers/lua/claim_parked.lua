-- Move the oldest parked deliveries of an account into this shard's store of
-- it, in one step: a claimed delivery is never only in a shard's memory.
-- KEYS[1] the account's parked list, KEYS[2] this shard's stream of the
-- account, KEYS[3] this shard's set of accounts with a stream in the bucket.
-- ARGV[1] most entries to move, ARGV[2] the account, ARGV[3] idle TTL (s).
-- Returns {id1, entry1, id2, entry2, ...}, oldest first.
local entries = redis.call('LPOP', KEYS[1], ARGV[1])
if not entries then return {} end
local out = {}
for _, entry in ipairs(entries) do
  out[#out + 1] = redis.call('XADD', KEYS[2], '*', 'd', entry)
  out[#out + 1] = entry
end
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[3])
return out
