-- Extend a shard's claim on an outbox only while it is still this shard's.
-- KEYS[1] the claim; ARGV[1] the claimer, ARGV[2] the new TTL in milliseconds.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
