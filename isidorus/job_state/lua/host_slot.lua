local slots, next_key = KEYS[1], KEYS[2]
local now, lease, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local token, delay = ARGV[4], tonumber(ARGV[5])
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1 then return '-1' end
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
if redis.call('ZCARD', slots) >= limit then return '0.02' end
local next_at = tonumber(redis.call('GET', next_key) or '0')
if now < next_at then return tostring(next_at - now) end
redis.call('ZADD', slots, now + lease, token)
redis.call('EXPIRE', slots, math.ceil(lease) + 1)
if delay > 0 then
  redis.call('SET', next_key, tostring(now + delay), 'PX', math.ceil(delay * 1000) + 1000)
end
return '0'
