local seen, open, budget, quota, dups = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[7]
if redis.call('EXISTS', KEYS[5]) == 1 then return {C.BURIED} end
if redis.call('EXISTS', KEYS[6]) == 0 then return {C.LOST} end
local max_pages, quota_limit, quota_ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local max_depth = tonumber(ARGV[4])
local codes = {}
local duplicates_of = {}
-- One candidate per line: fingerprint, depth, kind, parent fingerprint, url and parent url
-- (both as JSON string literals), tab-separated. The open payload is built here, only
-- for the candidates that store one: {"by":..,"d":..,"p":..,"u":..} (keys sorted).
local lines = {}
local fps = {}
for line in string.gmatch(ARGV[5], '[^\n]+') do
  lines[#lines + 1] = line
  fps[#fps + 1] = string.match(line, '^([^\t]*)')
end
-- The batch's membership in HMGETs of a few thousand fields (Lua's stack bounds unpack),
-- not one HGET per candidate; `known` follows this script's own writes to `seen`, so a
-- URL offered twice in one batch sees its first offer.
local known = {}
for start = 1, #fps, 4000 do
  local last = math.min(start + 3999, #fps)
  local values = redis.call('HMGET', seen, unpack(fps, start, last))
  for index = start, last do
    local value = values[index - start + 1]
    if value then known[fps[index]] = value end
  end
end
-- A parent none of whose items has a pinned duplicate count (below) admits for the first
-- time: no child's open payload can name it yet, so its duplicates need no marker reads
-- (two HGETs each, most of a large crawl's admission). A parent without a tally line is
-- always read for.
local first_time = {}
for line in string.gmatch(ARGV[6], '[^\n]+') do
  local parent, item = string.match(line, '^([^\t]*)\t([^\t]*)\t')
  if first_time[parent] == nil then first_time[parent] = true end
  if redis.call('HEXISTS', dups, item) == 1 then first_time[parent] = false end
end
-- Built only for the candidates that store one (most are duplicates).
local function payload(parent, depth, parent_url, url)
  local by = ''
  if parent ~= '' then by = '"by":"' .. parent .. '",' end
  return '{' .. by .. '"d":' .. depth .. ',"p":' .. parent_url .. ',"u":' .. url .. '}'
end
local function remember(fp, value)
  redis.call('HSET', seen, fp, value)
  known[fp] = value
end
for _, line in ipairs(lines) do
  local fp, depth, kind, parent, url, parent_url = string.match(
    line, '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$')
  local item = ITEM.PAGE .. fp
  local current = known[fp]
  local code = C.DUPLICATE
  -- Skips and refusals remember the parent that recorded them, so a redelivered parent
  -- records them again (the writer's upsert keeps one row) instead of losing them.
  if kind == 's' then
    if not current then
      remember(fp, SEEN.SKIPPED .. parent)
      code = C.NEW_SKIP
    elseif current == SEEN.SKIPPED .. parent then
      code = C.NEW_SKIP
    end
  elseif not current then
    if tonumber(redis.call('GET', budget) or '0') >= max_pages then
      remember(fp, SEEN.REFUSED .. parent)
      code = C.LIMIT
    elseif tonumber(redis.call('GET', quota) or '0') >= quota_limit then
      remember(fp, SEEN.QUOTA .. parent)
      code = C.QUOTA
    else
      redis.call('INCR', budget)
      if redis.call('INCR', quota) == 1 then redis.call('EXPIRE', quota, quota_ttl) end
      remember(fp, depth)
      redis.call('HSET', open, item, payload(parent, depth, parent_url, url))
      code = C.ADMITTED
    end
  elseif tonumber(current) and tonumber(depth) < tonumber(current) then
    remember(fp, depth)
    if redis.call('HEXISTS', open, item) == 1 then redis.call('HSET', open, item, payload(parent, depth, parent_url, url)) end
    code = C.SHORTER
    if tonumber(depth) < max_depth then
      -- A shorter path may bring this page's links within the depth limit: re-expand it.
      redis.call('HSET', open, ITEM.EXPAND .. fp .. ':' .. depth, payload(parent, depth, parent_url, url))
      code = C.EXPAND
    end
  elseif current == SEEN.REFUSED .. parent then
    code = C.LIMIT
  elseif current == SEEN.QUOTA .. parent then
    code = C.QUOTA
  elseif parent ~= '' and not first_time[parent] then
    local marker = '"by":"' .. parent .. '"'
    local open_payload = redis.call('HGET', open, item)
    local expand_payload = redis.call('HGET', open, ITEM.EXPAND .. fp .. ':' .. depth)
    if open_payload and string.find(open_payload, marker, 1, true) then
      code = C.REPUBLISH
    elseif expand_payload and string.find(expand_payload, marker, 1, true) then
      code = C.REPUBLISH_EXPAND
    end
  end
  -- A link to a URL the job already had is a duplicate, also when it shortens its depth.
  if parent ~= '' and (code == C.DUPLICATE or code == C.SHORTER or code == C.EXPAND
      or code == C.REPUBLISH_EXPAND) then
    duplicates_of[parent] = (duplicates_of[parent] or 0) + 1
  end
  codes[#codes + 1] = code
end
-- Pin each parent's duplicate count while its work item is open: a redelivered parent
-- would see the links it admitted, once written, as duplicates; it reports the first count.
-- One parent per line: fingerprint, work item, duplicates dropped before the script, and
-- whether they count (1) or its links were offered, and counted, before (0).
local pinned = {}
for line in string.gmatch(ARGV[6], '[^\n]+') do
  local parent, item, dropped, counted = string.match(
    line, '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([01])$')
  local total = 0
  if counted == '1' then total = tonumber(dropped) + (duplicates_of[parent] or 0) end
  redis.call('HSETNX', dups, item, total)
  pinned[#pinned + 1] = redis.call('HGET', dups, item)
end
-- The codes as one string (each is one letter): one reply to parse, not one per candidate.
return {table.concat(codes), pinned}
