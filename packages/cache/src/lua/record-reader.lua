-- Records that a client read an entry: its reader (what the worker needs to refill it) in the reader set of each of
-- the entry's tags, scored by the server's time in microseconds. A set keeps its newest `max` readers and expires
-- after `idle` ms without a read, so it stays bounded whatever clients read.
-- KEYS: the reader sets of the entry's tags (one slot). ARGV: reader, max kept per tag, idle ms.
-- Returns the time recorded.
local t = redis.call('TIME')
local now = t[1] .. string.format('%06d', tonumber(t[2]))
local keep = tonumber(ARGV[2])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[1])
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -(keep + 1))
  redis.call('PEXPIRE', KEYS[i], ARGV[3])
end
return now
