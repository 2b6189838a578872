-- Shared by the scripts that change ledger state.
-- KEYS[1] is the bucket's event stream. Every other key a script touches is
-- declared in KEYS as well, and all carry the bucket's hash tag, so the call
-- lives in one Redis Cluster slot. ARGV[1] is the time in ms, or "" for the
-- server clock (Redis 7 replicates effects, so TIME is safe).

local function clock_ms()
  if ARGV[1] ~= '' then
    return tonumber(ARGV[1])
  end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local NOW = clock_ms()

-- Accounts read in this call; the script is the only writer while it runs,
-- so a cached copy stays true as long as every change is applied to it too.
local accounts = {}

local function load_account(id, k)
  local cached = accounts[id]
  if cached ~= nil then
    return cached
  end
  local v = redis.call('HMGET', k, AF.enabled, AF.balance, AF.held, AF.credit_limit,
    AF.throughput, AF.quota, AF.quota_period, AF.window_second, AF.window_used,
    AF.quota_window, AF.quota_used)
  if not v[2] then
    accounts[id] = false
    return false
  end
  local a = {
    id = id, key = k, enabled = v[1] == '1',
    balance = tonumber(v[2]), held = tonumber(v[3]), credit_limit = tonumber(v[4]),
    throughput = tonumber(v[5]), quota = tonumber(v[6]), quota_period = v[7],
    window_second = tonumber(v[8]), window_used = tonumber(v[9]),
    quota_window = tonumber(v[10]), quota_used = tonumber(v[11]),
  }
  accounts[id] = a
  return a
end

-- Money events of this call, and the accounts they changed (in the order first
-- changed). `emit` only collects; `commit_money`, which every script that
-- emits calls once before it returns, writes them: one stream entry for all
-- of the call's money events and one HSET per account, not an XADD and an
-- HSET per message. A script runs atomically and Redis refuses a writing
-- script for memory at its start only, never half-way through (scripts
-- declare no allow-oom), so nobody sees an account before its write.
local money_records = {}
local changed = {}

-- A record of one money event (`ledger.events` _MoneyRecord behind its kind):
-- the time, the account, the amount, the account's balance and holds after
-- it, then the message id and parts (holds, captures, releases) or the
-- reference and reason (adjustments), '' or 0 if none.
local function emit(kind, a, amount, message_id, parts, reference, reason)
  money_records[#money_records + 1] = {kind, NOW, a.id, amount, a.balance, a.held,
    message_id or '', parts or 0, reference or '', reason or ''}
  if not a.last_record then
    changed[#changed + 1] = a
  end
  a.last_record = #money_records
end

-- Writes the call's money events as one `money` entry of the bucket stream
-- (KEYS[1]). Its N events take the stream ids <ms>-<seq> to <ms>-<seq+N-1>
-- from the entry's own id on: XSETID moves the stream's last id past them, so
-- no later entry takes one, and each event keeps a position of its own for
-- PostgreSQL's keys and reconciliation's cut-offs. Then each changed account
-- gets its balance, holds and the id of its latest event, and its windows if
-- an accept counted in them (`a.counted`): only an accept sets them all, and
-- an account written before quotas existed may have none.
local function commit_money()
  local count = #money_records
  if count == 0 then
    return
  end
  local entry_id = redis.call('XADD', KEYS[1], '*', EF.kind, KIND.money, EF.body,
    cmsgpack.pack(money_records))
  local ms, seq = string.match(entry_id, '^(%d+)%-(%d+)$')
  seq = tonumber(seq)
  if count > 1 then
    redis.call('XSETID', KEYS[1], ms .. '-' .. string.format('%d', seq + count - 1))
  end
  for _, a in ipairs(changed) do
    local last_event = ms .. '-' .. string.format('%d', seq + a.last_record - 1)
    if a.counted then
      redis.call('HSET', a.key, AF.balance, a.balance, AF.held, a.held,
        AF.last_event, last_event, AF.window_second, a.window_second,
        AF.window_used, a.window_used, AF.quota_window, a.quota_window,
        AF.quota_used, a.quota_used)
    else
      redis.call('HSET', a.key, AF.balance, a.balance, AF.held, a.held,
        AF.last_event, last_event)
    end
  end
end

-- Settled holds (ledger.layout SETTLED_SLICES): accept, settle and void declare
-- the bucket's settled slices as KEYS[3] (the current one, written) to
-- KEYS[3 + SETTLED_SLICES]. A hold's record is deleted when it settles and
-- its outcome kept there, a `SettledMark`: "c" and the amount, or "r".

-- The mark of a settled message id, or nil. A hold record that a version
-- before settled slices settled (its `state` field set) speaks for itself.
local function settled_mark(message_id, state, captured)
  if state then
    return state == HS.captured and SM.captured .. captured or SM.released
  end
  for k = 3, 3 + SETTLED_SLICES do
    local mark = redis.call('HGET', KEYS[k], message_id)
    if mark then
      return mark
    end
  end
  return nil
end

-- Keeps a mark in the current slice, which lives `ttl` more seconds (set once per call).
local slice_expires = false
local function remember_settled(message_id, mark, ttl)
  redis.call('HSET', KEYS[3], message_id, mark)
  if not slice_expires then
    redis.call('EXPIRE', KEYS[3], ttl)
    slice_expires = true
  end
end
