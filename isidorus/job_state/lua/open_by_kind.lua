-- A job's open items counted by kind (the name before the first ':'): a flat list
-- kind, count, kind, count... One pass over the open hash, O(open items).
local counts = {}
for _, item in ipairs(redis.call('HKEYS', KEYS[1])) do
  local kind = string.match(item, '^([^:]+):')
  if kind then counts[kind] = (counts[kind] or 0) + 1 end
end
local out = {}
for kind, n in pairs(counts) do
  out[#out + 1] = kind
  out[#out + 1] = n
end
return out
