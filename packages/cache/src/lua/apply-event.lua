-- Applies one chunk of an event's invalidation: new tokens for its tags, unless the marker says the event was
-- applied already; the last chunk also sets the marker. An event's chunks run in order, so the marker is set
-- only once every tag has its new token; chunks repeated after a failure only invalidate again (harmless).
-- KEYS: marker, then tag keys (one slot). ARGV: now, marker TTL, token TTL, 1 for the last chunk, tokens.
-- Returns {1, now} when applied now, {0, when} when the marker says it was applied already.
local done = redis.call('GET', KEYS[1])
if done then return {0, done} end
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 3], 'PX', ARGV[3]) end
if ARGV[4] == '1' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return {1, ARGV[1]}
