-- Pace a job's batches on one stage (pacing.py): free the caller's slot in the job's line,
-- hold the new batches, and release held batches while the line has room. An empty worker
-- is a caller that is not one of the stage's processes (it is not counted in the fleet).
local held, line, releasing, fleet, pacing = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local small = KEYS[7]
if redis.call('EXISTS', KEYS[6]) == 1 then return {} end
local now, token, worker, job = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local slot_seconds, recent_seconds = tonumber(ARGV[5]), tonumber(ARGV[6])
local min_window, factor = tonumber(ARGV[7]), tonumber(ARGV[8])
local small_backlog = tonumber(ARGV[9])
if worker ~= '' then redis.call('ZADD', fleet, now, worker) end
redis.call('ZREMRANGEBYSCORE', fleet, '-inf', now - recent_seconds)
redis.call('ZADD', pacing, now, job)
redis.call('ZREMRANGEBYSCORE', pacing, '-inf', now - recent_seconds)
redis.call('ZREM', line, token)
redis.call('ZREMRANGEBYSCORE', line, '-inf', now - slot_seconds)
for i = 10, #ARGV do redis.call('RPUSH', held, ARGV[i]) end
-- This delivery released batches before and may not have published them all: again.
local pending = redis.call('HGET', releasing, token)
if pending then return cjson.decode(pending) end
local window = math.ceil(factor * redis.call('ZCARD', fleet) / redis.call('ZCARD', pacing))
local in_line = redis.call('ZCARD', line)
local waiting = redis.call('LLEN', held)
local backlog = waiting + in_line
-- Shortest backlog first: a job whose whole backlog on this stage is small goes at once
-- (it is done in a moment), and while any such job is active a big one keeps a single
-- batch in line, so the small job waits behind little and gets the cores.
if backlog > 0 and backlog <= small_backlog then
  redis.call('ZADD', small, now, job)
else
  redis.call('ZREM', small, job)
end
redis.call('ZREMRANGEBYSCORE', small, '-inf', now - recent_seconds)
local free = math.max(min_window, window) - in_line
if backlog <= small_backlog then
  free = waiting
elseif redis.call('ZCARD', small) > 0 then
  free = 1 - in_line
end
local out = {}
while free > 0 do
  local batch = redis.call('LPOP', held)
  if not batch then break end
  redis.call('ZADD', line, now, string.sub(batch, 1, string.find(batch, '\t', 1, true) - 1))
  out[#out + 1] = batch
  free = free - 1
end
if #out > 0 then redis.call('HSET', releasing, token, cjson.encode(out)) end
return out
