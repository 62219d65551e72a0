/**
 * The retry rules (src/README.md, "Retries"): which calls may be retried, after what, and how
 * long to wait — as pure functions the per-call undici retry callback consults.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { interceptors } from 'undici';
import type { OperationBinding } from './operation.ts';
import { headerValue, parseRetryAfter } from './responseHeaders.ts';

export interface RetryOptions {
  /** Retries after the first attempt. 0 disables retries. */
  maxRetries: number;
  /** A 429/503 whose `Retry-After` asks for longer than this is not retried. */
  maxRetryAfterSeconds: number;
  /** First backoff step; doubles per retry with full jitter. Default 100 ms. */
  baseDelayMs?: number;
  /** Cap of one backoff step. Default 2,000 ms. */
  maxDelayMs?: number;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
const RETRY_STATUSES = new Set([502, 503, 504]);
/** Failures to reach the backend at all — the request did not get processed. */
const RETRY_NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
  'EHOSTDOWN', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT',
]);

/**
 * A call may be repeated when its method is idempotent, or when it carries an idempotency key
 * the backend uses to replay the first answer instead of acting twice.
 */
export function isIdempotent(binding: Pick<OperationBinding, 'method' | 'idempotencyKeyHeader'>, idempotencyKey: string | undefined): boolean {
  return IDEMPOTENT_METHODS.has(binding.method) || (binding.idempotencyKeyHeader !== null && idempotencyKey !== undefined);
}

export type RetryCallback = NonNullable<interceptors.RetryInterceptorOpts['retry']>;

/** Nothing is retried unless a call brings its own policy. */
export const NEVER_RETRY: RetryCallback = (err, _ctx, cb) => cb(err);

export interface RetryDecisionInput {
  idempotent: boolean;
  retriesSoFar: number;
  /** The response status, for a retry after a response. */
  status?: number;
  headers?: IncomingHttpHeaders;
  /** The network error code, for a retry after a failure to get a response. */
  code?: string;
  remainingMs: number;
}

/**
 * The retry rules, as a pure function: the delay before the next attempt, or null for "do not
 * retry". Only idempotent calls; connect-level failures and 502/503/504 with jittered
 * exponential backoff; 429 (and 5xx with `Retry-After`) only when the backend's wait is within
 * `maxRetryAfterSeconds`; never past the call's deadline.
 */
export function retryDelayMs(input: RetryDecisionInput, opts: RetryOptions, random: () => number = Math.random): number | null {
  if (!input.idempotent || input.retriesSoFar >= opts.maxRetries) return null;
  const base = opts.baseDelayMs ?? 100;
  const cap = opts.maxDelayMs ?? 2_000;
  const backoff = () => Math.round(random() * Math.min(cap, base * 2 ** input.retriesSoFar));
  let delay: number;
  if (input.status !== undefined) {
    const retryAfter = parseRetryAfter(headerValue(input.headers ?? {}, 'retry-after'));
    if (input.status === 429) {
      if (retryAfter === undefined || retryAfter > opts.maxRetryAfterSeconds) return null;
      delay = retryAfter * 1000 + Math.round(random() * base);
    } else if (RETRY_STATUSES.has(input.status)) {
      if (retryAfter !== undefined && retryAfter > opts.maxRetryAfterSeconds) return null;
      delay = retryAfter !== undefined ? retryAfter * 1000 + Math.round(random() * base) : backoff();
    } else {
      return null;
    }
  } else if (input.code !== undefined && RETRY_NETWORK_CODES.has(input.code)) {
    delay = backoff();
  } else {
    return null;
  }
  // Leave the next attempt some time of its own; a retry that cannot finish is just load.
  return delay + 50 < input.remainingMs ? delay : null;
}
