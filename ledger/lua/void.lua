-- void: accepts whose reply never came (Redis did not answer in time, so the
-- customer heard the message was refused) must have no effect, whether they
-- ran, run later (a stalled Redis executes what it had received when it
-- resumes) or never. KEYS[2] is the shard's outbox stream, KEYS[3..] the
-- bucket's settled slices (common.lua). ARGV[2] is how long the current
-- slice must still live (seconds), ARGV[3] the msgpack list of items
-- accept.lua was sent, of which the first five are read: {message_id,
-- account, account key, hold key, idempotency key or 0} (keys as indexes into
-- KEYS). Returns one VOID code per message:
--   voided: the accept had run; its hold is released, its outbox entry deleted
--     and its idempotency key dropped, so the message is neither sent nor charged;
--   barred: it had not; a released mark takes its place, so the accept,
--     should it still arrive, finds a duplicate and changes nothing;
--   kept: the hold was settled already or is another account's; nothing changes.
-- A second void of the same message finds its released mark: kept.

local slice_ttl = ARGV[2]
local batch = cmsgpack.unpack(ARGV[3])

local function void(message_id, account, account_key, hold_key, idem_key)
  local h = redis.call('HMGET', hold_key, HF.account, HF.amount, HF.state, HF.outbox)
  if not h[1] then
    if settled_mark(message_id) then
      return VOID.kept
    end
    remember_settled(message_id, SM.released, slice_ttl)
    return VOID.barred
  end
  local a = h[1] == account and not h[3] and load_account(account, account_key)
  if not a then
    return VOID.kept
  end
  local amount = tonumber(h[2])
  a.held = a.held - amount
  emit(KIND.release, a, amount, message_id)
  redis.call('DEL', hold_key)
  remember_settled(message_id, SM.released, slice_ttl)
  if h[4] then
    redis.call('XDEL', KEYS[2], h[4])
  end
  if idem_key and redis.call('GET', idem_key) == message_id then
    redis.call('DEL', idem_key)
  end
  return VOID.voided
end

local results = {}
for i, m in ipairs(batch) do
  results[i] = void(m[1], m[2], KEYS[m[3]], KEYS[m[4]], m[5] > 0 and KEYS[m[5]] or nil)
end
commit_money()
return results
