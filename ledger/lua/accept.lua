-- accept: the gateway's commit point for a batch of messages of one bucket.
-- KEYS[2] is the shard's outbox stream. ARGV[2] is the idempotency TTL in
-- seconds, ARGV[3] a msgpack list of {message_id, account, account key,
-- hold key, idempotency key or 0, parts, price per part, payload length}
-- (keys as indexes into KEYS), ARGV[4] the payloads end to end. KEYS[3..] are
-- the bucket's settled slices (common.lua), read only.
-- Returns {code, value} per message: the outbox entry id when accepted, the
-- original message id for a duplicate, "" otherwise. Checks run in the order
-- below and a rejected message changes nothing, so one bad message never
-- fails its batch. A message id that has a hold record (in flight) or a
-- settled mark (settled, voided or barred within `settled_hold_ttl`) is a
-- duplicate of itself: a hold is never overwritten, a message never held twice.
--
-- Throughput is a fixed one-second window (the integer second of NOW) counted
-- in parts; a message larger than the whole limit passes only into an empty
-- window. Quotas count parts per UTC day or month.

local idempotency_ttl = ARGV[2]
local batch = cmsgpack.unpack(ARGV[3])
local payloads = ARGV[4]
local second = math.floor(NOW / 1000)
local day = math.floor(second / 86400)

-- Days since 1970-01-01 to year * 12 + month - 1, the proleptic Gregorian
-- calendar conversion of H. Hinnant's civil_from_days.
local function month_index(days)
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local month = mp < 10 and mp + 3 or mp - 9
  local year = yoe + era * 400
  if month <= 2 then
    year = year + 1
  end
  return year * 12 + month - 1
end

local quota_windows = {[PERIOD.day] = day, [PERIOD.month] = month_index(day)}

local function accept(m, payload)
  local message_id, account, parts, price = m[1], m[2], m[6], m[7]
  local a = load_account(account, KEYS[m[3]])
  if not a then
    return ACCEPT.unknown_account, ''
  end
  local idem_key = nil
  if m[5] > 0 then
    idem_key = KEYS[m[5]]
    local original = redis.call('GET', idem_key)
    if original then
      return ACCEPT.duplicate, original
    end
  end
  if not a.enabled then
    return ACCEPT.account_disabled, ''
  end
  local window_used = a.window_second == second and a.window_used or 0
  if a.throughput > 0 and window_used > 0 and window_used + parts > a.throughput then
    return ACCEPT.throttled, ''
  end
  local quota_window = quota_windows[a.quota_period]
  local quota_used = a.quota_window == quota_window and a.quota_used or 0
  if a.quota > 0 and quota_used + parts > a.quota then
    return ACCEPT.quota_exceeded, ''
  end
  local amount = price * parts
  if a.balance - a.held - amount < -a.credit_limit then
    return ACCEPT.no_credit, ''
  end

  local hold_key = KEYS[m[4]]
  if settled_mark(message_id) or redis.call('HSETNX', hold_key, HF.account, account) == 0 then
    return ACCEPT.duplicate, message_id
  end
  local entry_id = redis.call('XADD', KEYS[2], '*', OF.message_id, message_id,
    OF.account, account, OF.parts, parts, OF.price, price, OF.payload, payload)
  redis.call('HSET', hold_key, HF.amount, amount, HF.outbox, entry_id)
  a.held = a.held + amount
  a.window_second, a.window_used = second, window_used + parts
  a.quota_window, a.quota_used = quota_window, quota_used + parts
  a.counted = true
  if idem_key then
    redis.call('SET', idem_key, message_id, 'EX', idempotency_ttl)
  end
  emit(KIND.hold, a, amount, message_id, parts)
  return ACCEPT.ok, entry_id
end

local results = {}
local offset = 1
for i, m in ipairs(batch) do
  local size = m[8]
  local code, value = accept(m, string.sub(payloads, offset, offset + size - 1))
  offset = offset + size
  results[2 * i - 1] = code
  results[2 * i] = value
end
commit_money()
return results
