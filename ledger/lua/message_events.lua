-- Adds a write's message events to a bucket's event stream as one entry: ``body``
-- is their records in one msgpack array (`ledger.events.message_events_body`),
-- kept as it is under the kind `messages`, so Redis neither unpacks it nor
-- spends an XADD per event. Nothing is added for an empty body. The ledger's
-- append_events and the customers' store_pending both write through here, so
-- the persister reads one format.
local function append_message_events(stream, body)
  if body == '' then
    return 0
  end
  redis.call('XADD', stream, '*', EF.kind, KIND.messages, EF.body, body)
  return 1
end
