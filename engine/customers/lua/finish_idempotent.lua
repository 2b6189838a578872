-- Replace (or delete, with an empty answer) an idempotency record only while
-- it is still this request's pending marker: a marker that expired and was
-- claimed again belongs to another request.
-- KEYS[1] the record; ARGV[1] the pending marker, ARGV[2] the answer ('' deletes),
-- ARGV[3] how long to keep the answer in milliseconds.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
