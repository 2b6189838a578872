-- append_events: add message events to a bucket event stream (KEYS[1]) as one
-- packed entry. ARGV[1] is the entry's body (`append_message_events`).

return append_message_events(KEYS[1], ARGV[1])
