-- append_events: add message events to a bucket event stream (KEYS[1]) in one
-- call. ARGV[1] is a msgpack array of body lengths, ARGV[2] the bodies end to
-- end, each the msgpack array that `ledger.events.message_event_body` packs:
-- two arguments for the whole batch, as redis-py packs every argument in
-- Python. Each entry holds its body as it is, under its kind, so neither side
-- spends time on a field per value.

local lengths = cmsgpack.unpack(ARGV[1])
local bodies = ARGV[2]
local offset = 1
for i = 1, #lengths do
  local size = lengths[i]
  redis.call('XADD', KEYS[1], '*', EF.kind, KIND.message, EF.body,
    string.sub(bodies, offset, offset + size - 1))
  offset = offset + size
end
return #lengths
