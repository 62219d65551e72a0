/**
 * Where every counter Deputy keeps across calls comes from (src/README.md, "Shared state"): a
 * `rate-limiter-flexible` limiter, in this process's memory by default or on Redis when
 * `DEPUTY_REDIS_URL` is set. Callers ask for a limiter by what it counts and never see which
 * store holds it, so one replica or many enforce the same rules.
 */
import { createRequire } from 'node:module';
import type * as Flexible from 'rate-limiter-flexible';

// The package's index loads every store it supports (Redis, Mongo, MySQL, Drizzle, …: ~40
// modules, ~10 MiB resident); counting in memory needs two of its files. The Redis store is
// loaded only with DEPUTY_REDIS_URL (redisLimiters.ts; bench/README.md, "Cold start").
const require = createRequire(import.meta.url);
export const RateLimiterMemory = require('rate-limiter-flexible/lib/RateLimiterMemory.js') as typeof Flexible.RateLimiterMemory;
/** The refusal a limiter rejects with; the same class the package's index exports (one module file). */
export const RateLimiterRes = require('rate-limiter-flexible/lib/RateLimiterRes.js') as typeof Flexible.RateLimiterRes;
export type RateLimiterRes = Flexible.RateLimiterRes;
export type RateLimiterAbstract = Flexible.RateLimiterAbstract;

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
