if redis.call('EXISTS', KEYS[1]) == 1 then return R.BURIED end
return redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
