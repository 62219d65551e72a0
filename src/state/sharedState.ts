/**
 * The state replicas share (src/README.md, "Shared state"): quota counters, single-use records
 * and pending approvals, in this process's memory by default or on Redis/Valkey with
 * `DEPUTY_REDIS_URL`.
 *
 * The Redis side is redisState.ts, imported only when `DEPUTY_REDIS_URL` is set: ioredis and
 * rate-limiter-flexible's Redis store cost ~100 ms and ~25 MiB to load (src/README.md D40), for
 * nothing when the state is in memory.
 */
import { memoryLimiters, type LimiterFactory } from './limiters.ts';
import { InMemoryPendingApprovals, type PendingApprovals } from './pendingApprovals.ts';
import { MemorySingleUse, type SingleUseIds } from './singleUse.ts';

export interface SharedState {
  /** `memory`: this replica only; `redis`: every replica with the same DEPUTY_REDIS_URL. */
  readonly kind: 'memory' | 'redis';
  readonly limiters: LimiterFactory;
  /** Consumed 2026-07-28 approval ids. */
  readonly approvals: SingleUseIds;
  /** Out-of-band approvals waiting for, or holding, a decision on the approval page. */
  readonly pendingApprovals: PendingApprovals;
  /** Whether the shared store is connected now (always true in memory). */
  up(): boolean;
  /** One round trip to the store (PING); for the cached readiness state only. */
  check(): Promise<boolean>;
  close(): Promise<void>;
}

export function memoryState(now: () => number = Date.now): SharedState {
  return {
    kind: 'memory',
    limiters: memoryLimiters,
    approvals: new MemorySingleUse(),
    pendingApprovals: new InMemoryPendingApprovals(now),
    up: () => true,
    check: () => Promise.resolve(true),
    close: () => Promise.resolve(),
  };
}
