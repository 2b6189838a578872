-- Store a new verification: its fields and its lifetime in one step, so no
-- record is ever left without its TTL.
-- KEYS[1] the verification's hash; ARGV[1] its TTL in milliseconds,
-- ARGV[2], ARGV[3], ... field, value, field, value...
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
