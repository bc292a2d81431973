-- Reads the generation, or starts a new one when it was not written by this very server process
-- (see generation.ts). The check and the bump are one script, so replicas reconnecting at once agree.
-- KEYS: the generation key. ARGV: a random suffix for a new generation.
local runId = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
local gen = redis.call('GET', KEYS[1])
if gen and string.sub(gen, 1, #runId + 1) == runId .. ':' then return gen end
gen = runId .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], gen)
return gen
