-- Applies one chunk of an event's invalidation: new tokens for its tags, unless the marker says the event was
-- applied already; the last chunk also sets the marker. An event's chunks run in order, so the marker is set
-- only once every tag has its new token; chunks repeated after a failure only invalidate again (harmless).
-- Each token is `<seq>:<random>`, seq from the namespace's counter (see tokens.ts). A tag that has a token (an
-- entry may depend on it) keeps its new one as long as entries live; a tag nobody read gets a short-lived one,
-- long enough for every fill in flight to see it (see store-tags.lua), so tags never read cost little memory.
-- When the write is traced, its span is kept under the seq for a while, so a fill after it can link to it
-- (see trace-links.ts; the key is `<prefix><seq>`, in the tags' slot).
-- KEYS: marker, seq counter, then tag keys (one slot).
-- ARGV: now, marker TTL, token TTL, short token TTL, 1 for the last chunk, the write's span ('' when untraced),
-- the write-span key prefix, its TTL, then one random suffix per tag.
-- Returns {1, now, n} when applied now, n the chunk's tags that had a token (those an entry may depend on, the
-- ones this invalidation may invalidate something through); {0, when} when the marker says it was applied already.
local done = redis.call('GET', KEYS[1])
if done then return {0, done} end
local seq = redis.call('INCR', KEYS[2])
local had = 0
for i = 3, #KEYS do
  local token = seq .. ':' .. ARGV[i + 6]
  if redis.call('SET', KEYS[i], token, 'PX', ARGV[3], 'XX') then
    had = had + 1
  else
    redis.call('SET', KEYS[i], token, 'PX', ARGV[4])
  end
end
if ARGV[6] ~= '' then redis.call('SET', ARGV[7] .. seq, ARGV[6], 'PX', ARGV[8]) end
if ARGV[5] == '1' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return {1, ARGV[1], had}
