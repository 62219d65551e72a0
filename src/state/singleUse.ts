/**
 * Single-use records: an id that may be used once until it expires (a 2026-07-28 approval is
 * consumed here). In memory by default; on Redis one `SET key 1 NX PX ttl` decides atomically
 * which replica used it first (src/README.md, "Shared state").
 */
import type { Redis } from 'ioredis';

export interface SingleUseIds {
  /** True the first time an id is used; false on every later attempt until `expiresAt`. */
  consume(id: string, expiresAt: number): Promise<boolean>;
}

/** The shared store could not answer; whoever asked must refuse (fail closed). */
export class SharedStateUnavailable extends Error {
  override name = 'SharedStateUnavailable';
  readonly code = 'SHARED_STATE_UNAVAILABLE';
}

export class MemorySingleUse implements SingleUseIds {
  private readonly used = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async consume(id: string, expiresAt: number): Promise<boolean> {
    const now = this.now();
    if (this.used.size > 1_000) for (const [key, until] of this.used) if (until <= now) this.used.delete(key);
    const until = this.used.get(id);
    if (until !== undefined && until > now) return false;
    this.used.set(id, expiresAt);
    return true;
  }

  get size(): number {
    return this.used.size;
  }
}

export function redisSingleUse(client: Redis, keyPrefix: string, onError: () => void = () => {}, now: () => number = Date.now): SingleUseIds {
  return {
    async consume(id, expiresAt) {
      // The record outlives the approval by a second, so no clock skew between replicas reopens it.
      const ttlMs = Math.max(1_000, expiresAt - now() + 1_000);
      try {
        return (await client.set(`deputy:${keyPrefix}:${id}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
      } catch {
        onError();
        throw new SharedStateUnavailable('the shared state (Redis) did not answer');
      }
    },
  };
}
