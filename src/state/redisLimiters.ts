/**
 * Counters on Redis (src/README.md, "Shared state"), apart from limiters.ts so that a replica
 * counting in memory never loads rate-limiter-flexible's full index: serve.ts imports this (with
 * redisState.ts) only when `DEPUTY_REDIS_URL` is set.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { LimiterFactory } from './limiters.ts';

/**
 * Counters on Redis (or Valkey), shared by every replica. rate-limiter-flexible does each update
 * in one atomic step; its `insuranceLimiter` takes over in memory while Redis cannot answer, and
 * `onFallback` hears of every such call (for the error metric). `rejectIfRedisNotReady` keeps a
 * call from waiting on a connection that is down.
 */
export function redisLimiters(client: Redis, onFallback: () => void = () => {}): LimiterFactory {
  return ({ keyPrefix, points, duration, failClosed }) => {
    const common = { keyPrefix: `deputy:${keyPrefix}`, points, duration };
    if (failClosed) return new RateLimiterRedis({ ...common, storeClient: client, rejectIfRedisNotReady: true });
    return new RateLimiterRedis({ ...common, storeClient: client, rejectIfRedisNotReady: true, insuranceLimiter: new CountedInsurance(common, onFallback) });
  };
}

/** The in-memory stand-in for Redis; rate-limiter-flexible calls it only when Redis failed. */
class CountedInsurance extends RateLimiterMemory {
  constructor(
    options: { keyPrefix: string; points: number; duration: number },
    private readonly onFallback: () => void,
  ) {
    super(options);
  }

  override consume(...args: Parameters<RateLimiterMemory['consume']>): ReturnType<RateLimiterMemory['consume']> {
    this.onFallback();
    return super.consume(...args);
  }

  // The fair share counts with penalty() (tools/fairShare.ts), which falls back here just the same.
  override penalty(...args: Parameters<RateLimiterMemory['penalty']>): ReturnType<RateLimiterMemory['penalty']> {
    this.onFallback();
    return super.penalty(...args);
  }
}
