#!lua
-- Receipt correlations of one hash tag and batch: KEYS are the operator ids'
-- keys (one tag, so one Cluster slot), ARGV[1] the TTL in seconds, ARGV[i + 1]
-- the value of KEYS[i].
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ARGV[1])
end
return #KEYS
