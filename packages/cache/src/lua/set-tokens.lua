-- New tokens for tags (an outage's owed invalidations), as apply-event.lua writes them.
-- KEYS: seq counter, then tag keys (one slot). ARGV: token TTL, short token TTL, then one random suffix per tag.
local seq = redis.call('INCR', KEYS[1])
for i = 2, #KEYS do
  local token = seq .. ':' .. ARGV[i + 1]
  if not redis.call('SET', KEYS[i], token, 'PX', ARGV[1], 'XX') then
    redis.call('SET', KEYS[i], token, 'PX', ARGV[2])
  end
end
return #KEYS - 1
