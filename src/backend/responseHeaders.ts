/** Parsing of the response headers the backend uses to explain rate limits. */
import type { IncomingHttpHeaders } from 'node:http';

export interface RateLimitInfo {
  /** `RateLimit-Limit`: requests allowed in the window. */
  limit?: number;
  /** `RateLimit-Remaining`: requests left in the window. */
  remaining?: number;
  /** `RateLimit-Reset`: seconds until the window resets. */
  resetSeconds?: number;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A non-negative integer of at most 10 digits, or undefined. */
function delaySeconds(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  return /^\d{1,10}$/.test(trimmed) ? Number(trimmed) : undefined;
}

/**
 * `Retry-After` (RFC 9110 §10.2.3) as whole seconds from `now`: either delay-seconds or an
 * HTTP-date (a date in the past means 0). Anything else is undefined, never a guess.
 */
export function parseRetryAfter(raw: string | undefined, now: number = Date.now()): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = delaySeconds(raw);
  if (seconds !== undefined) return seconds;
  // IMF-fixdate and the two obsolete formats all contain a weekday name and a GMT time.
  if (!/^[A-Za-z]{3,9},? .*\d{2}:\d{2}:\d{2}/.test(raw.trim())) return undefined;
  // asctime() dates carry no zone but are GMT by definition (RFC 9110 §5.6.7).
  const at = Date.parse(/\bGMT\b/.test(raw) ? raw : `${raw.trim()} GMT`);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** `RateLimit-*` headers (draft-ietf-httpapi-ratelimit-headers, the three-header form the backend sends). */
export function parseRateLimit(headers: IncomingHttpHeaders): RateLimitInfo | undefined {
  const info: RateLimitInfo = {};
  const limit = delaySeconds(header(headers, 'ratelimit-limit'));
  const remaining = delaySeconds(header(headers, 'ratelimit-remaining'));
  const reset = delaySeconds(header(headers, 'ratelimit-reset'));
  if (limit !== undefined) info.limit = limit;
  if (remaining !== undefined) info.remaining = remaining;
  if (reset !== undefined) info.resetSeconds = reset;
  return Object.keys(info).length > 0 ? info : undefined;
}

/**
 * How long the backend asks us to wait: `Retry-After` first (the standard signal), else
 * `RateLimit-Reset` (seconds until the window resets).
 */
export function retryAfterSeconds(headers: IncomingHttpHeaders, now: number = Date.now()): number | undefined {
  return parseRetryAfter(header(headers, 'retry-after'), now) ?? parseRateLimit(headers)?.resetSeconds;
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  return header(headers, name);
}
