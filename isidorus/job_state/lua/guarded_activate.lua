if redis.call('EXISTS', KEYS[1]) == 1 then return R.BURIED end
redis.call('HSET', KEYS[2], 'progress_at', ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
return 1
