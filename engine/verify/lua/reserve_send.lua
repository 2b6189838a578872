-- Take a place for one more code to a number, or say which limit refuses it
-- and for how long: the rule of `admit` in engine/verify/send_limits.py.
-- KEYS[1] the sorted set of the codes sent to the number lately (member: the
-- verification id, score: Unix ms); ARGV[1] now (ms), ARGV[2] the window (ms),
-- ARGV[3] most codes per window, ARGV[4] least time between two codes (ms),
-- ARGV[5] the new verification's id.
-- Returns {'', 0} when the place is taken, else {limit, milliseconds to wait}.
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local interval = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if newest[2] and now - tonumber(newest[2]) < interval then
  return {'resend_interval', tonumber(newest[2]) + interval - now}
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {'sends_per_window', tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('PEXPIRE', KEYS[1], math.max(window, interval))
return {'', 0}
