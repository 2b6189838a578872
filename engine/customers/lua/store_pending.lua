-- Write a round's message events of one bucket, store its deliveries for the
-- bucket's accounts and forget the answered ones, in one call: an operator's
-- receipt is answered once its event and our receipt for the customer are
-- both written, so one call answers it; and a pipeline of XADD and XDEL cost
-- the client some 20 us of Python per command, on every receipt's path.
-- KEYS[1] the shard's set of accounts with a stream in the bucket,
-- KEYS[2] the bucket's event stream (the ledger's, which the persister reads),
-- KEYS[3..] the shard's stream of each account.
-- ARGV[1] idle TTL (s); ARGV[2] the events' packed entry body, '' for none
-- (`append_message_events` of the ledger's prelude); then, for each stream in
-- KEYS order: the account, how many entries to add, how many ids to delete,
-- the entries (field d), the ids.
-- Returns the new entries' ids, in order.
append_message_events(KEYS[2], ARGV[2])
local ttl = ARGV[1]
local at = 3
local ids = {}
local chunk = 1000
for k = 3, #KEYS do
  local stream, account = KEYS[k], ARGV[at]
  local adds, deletes = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  at = at + 3
  for _ = 1, adds do
    ids[#ids + 1] = redis.call('XADD', stream, '*', 'd', ARGV[at])
    at = at + 1
  end
  if adds > 0 then
    redis.call('SADD', KEYS[1], account)
    redis.call('EXPIRE', stream, ttl)
  end
  local last = at + deletes - 1
  while at <= last do
    local upto = math.min(at + chunk - 1, last)
    redis.call('XDEL', stream, unpack(ARGV, at, upto))
    at = upto + 1
  end
end
if #ids > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
end
return ids
