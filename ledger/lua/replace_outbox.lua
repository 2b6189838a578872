-- replace_outbox: new content for one entry of a shard's outbox (replace_sm,
-- SMPP 3.4 4.10). KEYS[1] is the outbox stream of the entry's bucket, ARGV[1]
-- the entry id, ARGV[2] the new payload. A stream entry cannot change in
-- place, so the entry is added again with the new payload (its other fields,
-- the terms of the hold, unchanged) and the old one deleted, in one call: the
-- outbox never holds both contents, nor neither. Returns the new entry id, or
-- "" when the entry is gone (already acknowledged).

local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then
  return ''
end
local fields = found[1][2]
local args = {KEYS[1], '*'}
for i = 1, #fields, 2 do
  args[#args + 1] = fields[i]
  args[#args + 1] = fields[i] == OF.payload and ARGV[2] or fields[i + 1]
end
local entry_id = redis.call('XADD', unpack(args))
redis.call('XDEL', KEYS[1], ARGV[1])
return entry_id
