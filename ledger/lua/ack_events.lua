-- XACK of the space-separated ids in ARGV[2] on stream KEYS[1] for group ARGV[1],
-- 1,000 ids per XACK (well inside Lua's stack).
local ids, acked = {}, 0
for id in string.gmatch(ARGV[2], '%S+') do
  ids[#ids + 1] = id
  if #ids == 1000 then
    acked = acked + redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
    ids = {}
  end
end
if #ids > 0 then
  acked = acked + redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
end
return acked
