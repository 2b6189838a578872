-- append_events: add message events to a bucket event stream (KEYS[1]) in one
-- call. Each ARGV is one event: a msgpack array of its field names and values
-- (strings), as `ledger.events.message_event_fields` names them. Packing an
-- event into one argument keeps the client's per-argument cost off the hot
-- path; the entries are exactly those a plain XADD per event would write.

for i = 1, #ARGV do
  redis.call('XADD', KEYS[1], '*', unpack(cmsgpack.unpack(ARGV[i])))
end
return #ARGV
