-- append_events: add message events to a bucket event stream (KEYS[1]) in one
-- call. ARGV[1] is a msgpack array of body lengths, ARGV[2] the bodies end to
-- end (`append_message_events`): two arguments for the whole batch, as
-- redis-py packs every argument in Python.

return append_message_events(KEYS[1], cmsgpack.unpack(ARGV[1]), ARGV[2])
