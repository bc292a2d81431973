-- Deletes a fill lock only if it is still ours (it may have expired and been taken by another instance).
-- KEYS: the fill lock. ARGV: our token.
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0
