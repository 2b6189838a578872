-- Save a template in its account's hash, within the account's limit.
-- KEYS[1] the account's hash; ARGV[1] the template id, ARGV[2] its JSON,
-- ARGV[3] the most templates the account may keep, or -1 to replace one
-- that exists (never bring back one deleted meanwhile).
-- Returns 1 saved, 0 refused (the limit, or nothing to replace).
local exists = redis.call('HEXISTS', KEYS[1], ARGV[1])
local limit = tonumber(ARGV[3])
if limit < 0 then
  if exists == 0 then return 0 end
elseif exists == 0 and redis.call('HLEN', KEYS[1]) >= limit then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
