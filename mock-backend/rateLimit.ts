/**
 * Per-token rate limiting: a fixed window per token (`Principal.tokenId`), reported with the
 * `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset` fields the spec documents
 * (draft-ietf-httpapi-ratelimit-headers, the separate-field form) and `Retry-After` on a 429.
 *
 * Hand-written on purpose: the limiter runs inside msw handlers, after the token is verified,
 * keyed by a token id only the handler knows, with an injectable clock for tests. The usual
 * libraries (express-rate-limit, rate-limiter-flexible) are express middleware or storage
 * frameworks; wrapping either would take more code than these few lines.
 */
export interface RateLimitConfig {
  /** Requests allowed per window per token. */
  limit: number;
  windowSeconds: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitConfig = { limit: 60, windowSeconds: 10 };

export interface RateLimitState {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Whole seconds until the window resets (at least 1 while a window is open). */
  resetSeconds: number;
}

export class RateLimiter {
  private windows = new Map<string, { start: number; count: number }>();

  constructor(
    readonly config: RateLimitConfig,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(config.limit) || config.limit < 1) throw new Error(`rate limit must be a positive integer, got ${config.limit}`);
    if (!(config.windowSeconds > 0)) throw new Error(`rate limit window must be positive, got ${config.windowSeconds}`);
  }

  /** Counts one request for `key` and says whether it may proceed. */
  consume(key: string): RateLimitState {
    const window = this.current(key, true)!;
    window.count++;
    return this.state(window, window.count <= this.config.limit);
  }

  /** The state for `key` without counting a request (for responses that do not count, e.g. 403). */
  peek(key: string): RateLimitState {
    const window = this.current(key, false);
    if (!window) return { allowed: true, limit: this.config.limit, remaining: this.config.limit, resetSeconds: this.config.windowSeconds };
    return this.state(window, window.count < this.config.limit);
  }

  reset(): void {
    this.windows.clear();
  }

  private current(key: string, create: boolean): { start: number; count: number } | undefined {
    const now = this.now();
    let window = this.windows.get(key);
    if (window && now >= window.start + this.config.windowSeconds * 1000) {
      this.windows.delete(key);
      window = undefined;
    }
    if (!window && create) {
      window = { start: now, count: 0 };
      this.windows.set(key, window);
      this.prune(now);
    }
    return window;
  }

  private state(window: { start: number; count: number }, allowed: boolean): RateLimitState {
    const msLeft = window.start + this.config.windowSeconds * 1000 - this.now();
    return {
      allowed,
      limit: this.config.limit,
      remaining: Math.max(0, this.config.limit - window.count),
      resetSeconds: Math.max(1, Math.ceil(msLeft / 1000)),
    };
  }

  /** Drops expired windows now and then, so a long run with many tokens stays small. */
  private prune(now: number): void {
    if (this.windows.size < 1000) return;
    for (const [key, w] of this.windows) if (now >= w.start + this.config.windowSeconds * 1000) this.windows.delete(key);
  }
}

export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    'RateLimit-Limit': String(state.limit),
    'RateLimit-Remaining': String(state.remaining),
    'RateLimit-Reset': String(state.resetSeconds),
  };
}
