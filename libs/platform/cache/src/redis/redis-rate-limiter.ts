import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { KeySpace } from '../keys';
import type { RateLimitDecision, RateLimiter, RateLimitRule } from '../ports';
import { assertValidConsume } from '../token-bucket';
import { CacheClosedError } from '../validation';
import { TOKEN_BUCKET_SCRIPT } from './token-bucket.script';

const SCRIPT_SHA1 = createHash('sha1').update(TOKEN_BUCKET_SCRIPT).digest('hex');

/** Token buckets in Redis, shared by every replica (see `token-bucket.script.ts`). */
export class RedisRateLimiter implements RateLimiter {
  private closed = false;

  constructor(
    private readonly command: Redis,
    private readonly keys: KeySpace,
  ) {}

  async consume(key: string, rule: RateLimitRule, cost = 1): Promise<RateLimitDecision> {
    if (this.closed) throw new CacheClosedError('Redis rate limiter');
    assertValidConsume(rule, cost);
    const fullKey = this.keys.bucket(key);
    const args = [String(rule.perSecond), String(rule.burst), String(cost)];
    let reply: unknown;
    try {
      // EVALSHA sends 40 bytes instead of the script; Redis forgets scripts on restart,
      // failover or SCRIPT FLUSH, and then answers NOSCRIPT: send the script once (EVAL
      // also caches it again for the next EVALSHA).
      reply = await this.command.evalsha(SCRIPT_SHA1, 1, fullKey, ...args);
    } catch (err) {
      if (!isNoScriptError(err)) throw err;
      reply = await this.command.eval(TOKEN_BUCKET_SCRIPT, 1, fullKey, ...args);
    }
    return parseDecision(reply, fullKey);
  }

  close(): void {
    this.closed = true;
  }
}

function isNoScriptError(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

function parseDecision(reply: unknown, fullKey: string): RateLimitDecision {
  if (
    Array.isArray(reply) &&
    reply.length === 3 &&
    reply.every((item): item is number => typeof item === 'number' && Number.isFinite(item))
  ) {
    const [allowed, retryAfterMs, remaining] = reply as [number, number, number];
    return { allowed: allowed === 1, retryAfterMs, remaining };
  }
  throw new Error(`unexpected token-bucket reply for ${fullKey}: ${JSON.stringify(reply)}`);
}
