-- adjust: top-ups, refunds and corrections for a batch of accounts of one bucket.
-- ARGV[2] is a msgpack list of {account, account key, reference hash key,
-- amount, reason, reference} (keys as indexes into KEYS). A
-- reference is remembered for good in the account's reference hash, so the
-- same adjustment applied twice changes nothing. A debit may not take
-- balance - held below -credit_limit. Returns {code, balance, held} per item.

local batch = cmsgpack.unpack(ARGV[2])

local function adjust(account, account_key, refs_key, amount, reason, reference)
  local a = load_account(account, account_key)
  if not a then
    return ADJUST.unknown_account, 0, 0
  end
  if redis.call('HEXISTS', refs_key, reference) == 1 then
    return ADJUST.duplicate, a.balance, a.held
  end
  local balance = a.balance + amount
  if balance > MAX_AMOUNT or balance < -MAX_AMOUNT then
    return ADJUST.balance_limit, a.balance, a.held
  end
  if amount < 0 and balance - a.held < -a.credit_limit then
    return ADJUST.no_credit, a.balance, a.held
  end
  a.balance = balance
  redis.call('HSET', refs_key, reference, amount)
  emit(KIND.adjust, a, amount, nil, nil, reference, reason)
  return ADJUST.ok, a.balance, a.held
end

local results = {}
for i, item in ipairs(batch) do
  local code, balance, held = adjust(item[1], KEYS[item[2]], KEYS[item[3]], item[4], item[5],
    item[6])
  results[3 * i - 2] = code
  results[3 * i - 1] = balance
  results[3 * i] = held
end
commit_money()
return results
