-- Records that a client read an entry: its reader (what the worker needs to refill it) in the reader set of each of
-- the entry's tags, scored by the server's time in microseconds. A set keeps its newest `max` readers and expires
-- after `idle` ms without a read, so it stays bounded whatever clients read. A client's fill (ARGV[4] = '1') also
-- sets the reader's stored marker, the last KEY, to `c<time>`: the entry counts as read only once a hit comes after.
-- KEYS: the reader sets of the entry's tags (one slot), then, for a fill, the stored marker. ARGV: reader, max kept
-- per tag, idle ms, '1' for a fill.
-- Returns the time recorded.
local t = redis.call('TIME')
local now = t[1] .. string.format('%06d', tonumber(t[2]))
local keep = tonumber(ARGV[2])
local sets = #KEYS
if ARGV[4] == '1' then
  redis.call('SET', KEYS[sets], 'c' .. now, 'PX', ARGV[3])
  sets = sets - 1
end
for i = 1, sets do
  redis.call('ZADD', KEYS[i], now, ARGV[1])
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -(keep + 1))
  redis.call('PEXPIRE', KEYS[i], ARGV[3])
end
return now
