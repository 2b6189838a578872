-- XREADGROUP GROUP ARGV[1] ARGV[2] COUNT ARGV[3] STREAMS KEYS[1] ARGV[4], answered as
-- the bare list of entries ({id, {field, value, ...}}, a nil for one deleted while
-- pending): redis-py turns a plain XREADGROUP reply into dicts in Python, which
-- cost the persister more than decoding the events themselves.
local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3],
                         'STREAMS', KEYS[1], ARGV[4])
if not reply then
  return {}
end
return reply[1][2]
