-- trim_events: drop the entries of a bucket event stream that the persister's
-- group (ARGV[1]) has acknowledged: those before both its oldest pending entry
-- and its last delivered one. The group must be the stream's only reader.
-- Returns how many entries were removed.

local last_delivered = nil
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local fields = {}
  for i = 1, #group, 2 do
    fields[group[i]] = group[i + 1]
  end
  if fields['name'] == ARGV[1] then
    last_delivered = fields['last-delivered-id']
  end
end
if not last_delivered then
  return 0
end
local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
local floor = last_delivered
if pending[1] > 0 then
  floor = pending[2]
end
return redis.call('XTRIM', KEYS[1], 'MINID', floor)
