local open, state, active, dups = KEYS[1], KEYS[2], KEYS[3], KEYS[5]
if redis.call('EXISTS', KEYS[4]) == 1 then return R.BURIED end
if redis.call('EXISTS', state) == 0 then return R.LOST end
local removed = 0
for i = 3, #ARGV do
  removed = removed + redis.call('HDEL', open, ARGV[i])
  redis.call('HDEL', dups, ARGV[i])
  redis.call('DEL', KEYS[i + 3])  -- its claim
end
if removed > 0 then
  redis.call('HSET', state, 'progress_at', ARGV[1])
  if redis.call('ZSCORE', active, ARGV[2]) then redis.call('ZADD', active, ARGV[1], ARGV[2]) end
end
return redis.call('HLEN', open)
