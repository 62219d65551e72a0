/**
 * Where every counter Deputy keeps across calls comes from (src/README.md, "Shared state"): a
 * `rate-limiter-flexible` limiter, in this process's memory by default or on Redis when
 * `DEPUTY_REDIS_URL` is set. Callers ask for a limiter by what it counts and never see which
 * store holds it, so one replica or many enforce the same rules.
 */
import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface LimiterOptions {
  /** Names what is counted; also the key prefix in a shared store (`deputy:<keyPrefix>:<key>`). */
  keyPrefix: string;
  /** How many points a key may consume per window. */
  points: number;
  /** The window, in seconds. */
  duration: number;
}

export type LimiterFactory = (options: LimiterOptions) => RateLimiterAbstract;

/** Counters in this process's memory: the embedded default, one replica only. */
export const memoryLimiters: LimiterFactory = (options) => new RateLimiterMemory(options);
