/**
 * The token bucket of `../token-bucket.ts`, in Lua, so that read-refill-take-write is one
 * atomic step in Redis: two replicas consuming from one bucket at the same moment can
 * never both spend the last token.
 *
 * The clock is Redis `TIME`, not the caller's: replicas' clocks drift, and a replica whose
 * clock runs ahead would refill buckets early (or, behind, refuse requests it should allow).
 * One clock, the server's, gives every replica the same answer. Since Redis 5 scripts are
 * replicated by their effects, so a non-deterministic TIME before a write is allowed;
 * `replicate_commands()` opts in on older servers and is a no-op on newer ones.
 *
 * KEYS[1]  the bucket hash {tokens, ts}
 * ARGV     perSecond, burst, cost
 * Returns  {allowed (0|1), retryAfterMs, remaining whole tokens}
 *
 * The key expires once the bucket would be full again (plus a second of slack): a missing
 * bucket is a full one, so idle keys vanish without changing any decision.
 */
export const TOKEN_BUCKET_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local epsilon = 1e-9
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
else
  local elapsed = math.max(0, now - ts)
  tokens = math.min(burst, tokens + elapsed * rate / 1000)
end
local allowed = 0
local retry = 0
if tokens + epsilon >= cost then
  allowed = 1
  tokens = math.max(0, tokens - cost)
else
  retry = math.ceil((cost - tokens) * 1000 / rate)
end
-- Format explicitly: older Redis servers turn a Lua number argument into text with only 14
-- significant digits, which rounds the timestamp and the fractional token count.
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return {allowed, retry, math.floor(tokens + epsilon)}
`;
