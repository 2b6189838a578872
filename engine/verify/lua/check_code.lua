-- What one check of a code counts for, decided in one step whichever shard
-- runs it, so parallel guesses cannot outrun the attempt limit. The code was
-- compared in Python (in constant time, under the server's secret); this is
-- the rule of `decide` in engine/verify/model.py, which the memory twin runs.
-- KEYS[1] the verification's hash; ARGV[1] '1' when the code matched, else
-- '0'; ARGV[2] now in Unix milliseconds.
-- Returns {verdict, wrong attempts so far}, or {} when the verification is gone.
local held = redis.call('HMGET', KEYS[1], 'state', 'attempts', 'max_attempts', 'expires_ms')
if not held[1] then return {} end
local state = held[1]
local attempts = tonumber(held[2])
if state == 'approved' then return {'already_used', attempts} end
if state == 'max_attempts_reached' then return {state, attempts} end
if tonumber(ARGV[2]) >= tonumber(held[4]) then return {'expired', attempts} end
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'state', 'approved')
  return {'approved', attempts}
end
attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts >= tonumber(held[3]) then
  redis.call('HSET', KEYS[1], 'state', 'max_attempts_reached')
  return {'max_attempts_reached', attempts}
end
return {'pending', attempts}
