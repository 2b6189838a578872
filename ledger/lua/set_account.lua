-- set_account: create an account (balance 0) or change its limits.
-- KEYS[2] is the account hash, KEYS[3] the bucket's set of accounts.
-- ARGV[2] account, ARGV[3] enabled ("1"/"0"), ARGV[4] credit limit,
-- ARGV[5] throughput, ARGV[6] quota, ARGV[7] quota period.
-- Returns 1 when the account was created, 0 when it existed.

local id = ARGV[2]
local k = KEYS[2]
local created = redis.call('HSETNX', k, AF.balance, 0)
if created == 1 then
  redis.call('HSET', k, AF.held, 0, AF.window_second, 0, AF.window_used, 0,
    AF.quota_window, 0, AF.quota_used, 0)
  redis.call('SADD', KEYS[3], id)
end
redis.call('HSET', k, AF.enabled, ARGV[3], AF.credit_limit, ARGV[4],
  AF.throughput, ARGV[5], AF.quota, ARGV[6], AF.quota_period, ARGV[7])
local money = redis.call('HMGET', k, AF.balance, AF.held)
local event_id = redis.call('XADD', KEYS[1], '*', EF.kind, KIND.account, EF.ts, NOW,
  EF.account, id, EF.enabled, ARGV[3], EF.credit_limit, ARGV[4], EF.throughput, ARGV[5],
  EF.quota, ARGV[6], EF.quota_period, ARGV[7], EF.balance, money[1], EF.held, money[2])
redis.call('HSET', k, AF.last_event, event_id)
return created
