-- Give up a shard's claim on an outbox only while it is still this shard's.
-- KEYS[1] the claim; ARGV[1] the claimer.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
