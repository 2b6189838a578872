-- append_events: add message events to a bucket event stream (KEYS[1]) in one
-- call. Each ARGV is one event's body, the msgpack array that
-- `ledger.events.message_event_body` packs; the entry holds it as it is, under
-- its kind, so neither side spends time on a field per value.

for i = 1, #ARGV do
  redis.call('XADD', KEYS[1], '*', EF.kind, KIND.message, EF.body, ARGV[i])
end
return #ARGV
