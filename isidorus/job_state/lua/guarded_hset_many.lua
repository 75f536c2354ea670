if redis.call('EXISTS', KEYS[1]) == 1 then return R.BURIED end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
