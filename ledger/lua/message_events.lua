-- Adds message events to a bucket's event stream: ``lengths`` (a list) the
-- sizes of the bodies laid end to end in ``bodies``, each the msgpack array
-- that `ledger.events.message_event_body` packs. Each entry holds its body as
-- it is, under its kind, so neither side spends time on a field per value.
-- The ledger's append_events and the customers' store_pending both write
-- through here, so the persister reads one format.
local function append_message_events(stream, lengths, bodies)
  local offset = 1
  for i = 1, #lengths do
    local size = lengths[i]
    redis.call('XADD', stream, '*', EF.kind, KIND.message, EF.body,
      string.sub(bodies, offset, offset + size - 1))
    offset = offset + size
  end
  return #lengths
end
