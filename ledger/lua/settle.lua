-- settle: capture or release the holds of a batch of messages of one bucket.
-- KEYS[2] is the shard's outbox stream, KEYS[3..] the bucket's settled slices
-- (common.lua). ARGV[2] is how long the current slice must still live
-- (seconds), ARGV[3] a msgpack list of {op, message_id, account, account
-- key, hold key, amount, outbox entry id or ""} (keys as indexes into KEYS):
-- op "c" captures `amount` (at most what is held; the rest is released), op
-- "r" releases the hold. The outbox entry, if named, is deleted whatever the
-- outcome: the message is done with, and settling and acknowledging in one
-- step leaves no moment in which a restart would resend it.
-- Returns {code, captured, released} per item. A settled hold's record is
-- deleted and its outcome marked in the current slice, so a second capture or
-- a release after a capture changes nothing and says how the hold ended.

local slice_ttl = ARGV[2]
local batch = cmsgpack.unpack(ARGV[3])

local function settle(op, message_id, account, account_key, hold_key, amount)
  local h = redis.call('HMGET', hold_key, HF.account, HF.amount, HF.state, HF.captured)
  if h[1] and h[1] ~= account then
    return SETTLE.unknown_hold, 0, 0
  end
  if not h[1] or h[3] then
    local mark = settled_mark(message_id, h[3], h[4])
    if not mark then
      return SETTLE.unknown_hold, 0, 0
    end
    if mark == SM.released then
      return SETTLE.already_released, 0, 0
    end
    return SETTLE.already_captured, tonumber(string.sub(mark, 2)), 0
  end
  local held = tonumber(h[2])
  if op == 'r' then
    amount = 0
  end
  if amount > held then
    return SETTLE.exceeds_hold, 0, 0
  end
  local a = load_account(account, account_key)
  if op == 'c' then
    a.balance, a.held = a.balance - amount, a.held - amount
    emit(KIND.capture, a, amount, message_id)
  end
  local rest = held - amount
  if op == 'r' or rest > 0 then
    a.held = a.held - rest
    emit(KIND.release, a, rest, message_id)
  end
  redis.call('DEL', hold_key)
  -- %d: Lua's own number to string keeps 14 digits only.
  local mark = op == 'c' and SM.captured .. string.format('%d', amount) or SM.released
  remember_settled(message_id, mark, slice_ttl)
  return SETTLE.ok, amount, rest
end

local results = {}
for i, item in ipairs(batch) do
  local code, captured, released = settle(item[1], item[2], item[3], KEYS[item[4]],
    KEYS[item[5]], item[6])
  if item[7] ~= '' then
    redis.call('XDEL', KEYS[2], item[7])
  end
  results[3 * i - 2] = code
  results[3 * i - 1] = captured
  results[3 * i] = released
end
commit_money()
return results
