if redis.call('EXISTS', KEYS[1]) == 1 then return R.BURIED end
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[1])) then return 1 end
return 0
