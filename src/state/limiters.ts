/**
 * Where every counter Deputy keeps across calls comes from (src/README.md, "Shared state"): a
 * `rate-limiter-flexible` limiter, in this process's memory by default or on Redis when
 * `DEPUTY_REDIS_URL` is set. Callers ask for a limiter by what it counts and never see which
 * store holds it, so one replica or many enforce the same rules.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface LimiterOptions {
  /** Names what is counted; also the key prefix in a shared store (`deputy:<keyPrefix>:<key>`). */
  keyPrefix: string;
  /** How many points a key may consume per window. */
  points: number;
  /** The window, in seconds. */
  duration: number;
  /**
   * When the shared store cannot answer: true rejects with the store's error (writes fail
   * closed); false or absent counts in this replica's memory meanwhile (reads go on).
   */
  failClosed?: boolean;
}

export type LimiterFactory = (options: LimiterOptions) => RateLimiterAbstract;

/** Counters in this process's memory: the embedded default, one replica only. */
export const memoryLimiters: LimiterFactory = ({ keyPrefix, points, duration }) => new RateLimiterMemory({ keyPrefix, points, duration });

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
