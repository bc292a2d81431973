-- The tokens of the tags a response shows (known only once its data is read: the ids on a page), for its entry;
-- false when one was written after the lookup the fill started from (its data may predate that write).
-- A tag without a token gets a first one (seq 0); every token returned lives as long as the entry may.
-- KEYS: tag keys (one slot). ARGV: the seq counter as the lookup read it, token TTL, then one random suffix per tag.
local since = tonumber(ARGV[1])
local tokens = {}
for i = 1, #KEYS do
  local token = redis.call('GET', KEYS[i])
  if token then
    local seq = tonumber(string.match(token, '^(%d+):'))
    if seq == nil or seq > since then return false end
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
  else
    token = '0:' .. ARGV[i + 2]
    redis.call('SET', KEYS[i], token, 'PX', ARGV[2])
  end
  tokens[i] = token
end
return tokens
