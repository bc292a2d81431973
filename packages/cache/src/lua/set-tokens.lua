-- New tokens for tags, each expiring with the longest entry.
-- KEYS: tag keys (one slot). ARGV: token TTL, then one token per key.
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', ARGV[1]) end
return #KEYS
