-- After an event's tags were invalidated: the readers of those tags to refill, newest first, each at most once per
-- burst of writes (from the write that takes it until its refill starts: ReaderLog.refillStarts). A refill costs what
-- the miss it saves costs, so it is worth doing only for an entry that is read again after it is stored. A reader is
-- - skipped while its taken marker lives (a refill is pending, and it will read after this write);
-- - dropped from the set when its entry was stored (by a refill or a client's fill) and not read since (the stored
--   marker is newer than its last read): nothing is refilled until a client reads it again. An unread refill is
--   counted wasted, once (its marker is then negated);
-- - otherwise taken (marker set for the burst), up to `cap` readers; the rest wait for the next write.
-- The markers are `<prefix>~taken:<reader>` and `<prefix>~stored:<reader>` (`<time>` for a refill, `-<time>` once
-- counted, `c<time>` for a client's fill): keys of the tags' slot, built here from the prefix as BullMQ's scripts
-- build theirs (the slot is the reader sets').
-- KEYS: the reader sets of the event's tags (one slot). ARGV: key prefix, burst ms, cap.
-- Returns {wasted, reader...}.
local prefix, burst, cap = ARGV[1], ARGV[2], tonumber(ARGV[3])
local decided, taken, wasted = {}, {}, 0
for i = 1, #KEYS do
  local members = redis.call('ZREVRANGE', KEYS[i], 0, -1, 'WITHSCORES')
  for j = 1, #members, 2 do
    local reader = members[j]
    local decision = decided[reader]
    if decision == nil then
      local readAt = tonumber(members[j + 1])
      local storedKey = prefix .. '~stored:' .. reader
      local stored = redis.call('GET', storedKey)
      local kind = stored and string.sub(stored, 1, 1)
      if redis.call('EXISTS', prefix .. '~taken:' .. reader) == 1 then
        decision = 'burst'
      elseif stored and tonumber((kind == 'c' or kind == '-') and string.sub(stored, 2) or stored) >= readAt then
        decision = 'unread'
        if kind ~= 'c' and kind ~= '-' then
          wasted = wasted + 1
          redis.call('SET', storedKey, '-' .. stored, 'KEEPTTL')
        end
      elseif #taken < cap then
        decision = 'take'
        taken[#taken + 1] = reader
        redis.call('SET', prefix .. '~taken:' .. reader, '1', 'PX', burst)
      else
        decision = 'later'
      end
      decided[reader] = decision
    end
    if decision == 'unread' then redis.call('ZREM', KEYS[i], reader) end
  end
end
table.insert(taken, 1, wasted)
return taken
