-- Notes when a refill of a reader's entry was stored (server time, microseconds), in the reader's stored marker: a
-- reader whose last read is older was not read since, so its refill is wasted if the entry is invalidated (see
-- take-readers.lua).
-- KEYS: the reader's stored marker. ARGV: how long it is kept (ms).
local t = redis.call('TIME')
local now = t[1] .. string.format('%06d', tonumber(t[2]))
redis.call('SET', KEYS[1], now, 'PX', ARGV[1])
return now
