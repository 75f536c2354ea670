local open = KEYS[1]
local ttl, token = tonumber(ARGV[1]), ARGV[2]
local result = {}
local stopped = redis.call('EXISTS', KEYS[2]) == 1
if not stopped and redis.call('EXISTS', KEYS[3]) == 0 then return {C.LOST} end
for i = 3, #ARGV do
  local item = ARGV[i]
  local payload = redis.call('HGET', open, item)
  if stopped or not payload then
    result[#result + 1] = ''
  elseif redis.call('SET', KEYS[i + 1], token, 'NX', 'EX', ttl) then
    result[#result + 1] = payload
  else
    local holder = redis.call('GET', KEYS[i + 1])
    if holder == token then result[#result + 1] = payload else result[#result + 1] = '' end
  end
end
return result
