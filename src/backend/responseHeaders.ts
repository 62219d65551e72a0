/**
 * Parsing of the response headers the backend uses to explain rate limits: `Retry-After`, and
 * the `RateLimit-*` fields of draft-ietf-httpapi-ratelimit-headers in each form backends send.
 * Structured fields (RFC 9651) are parsed by `structured-headers`; why not a rate-limit header
 * library: src/README.md, "Backend rate limits".
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseDictionary, parseList, Token, type Parameters } from 'structured-headers';

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

/**
 * What the backend says of its rate limit, from whichever form it sends (first match wins):
 *
 *   - three fields, `RateLimit-Limit` / `-Remaining` / `-Reset` (draft 06 and earlier; the mock);
 *   - one `RateLimit` list of policies, `"name";r=<remaining>;t=<reset>`, with the quota `q` of
 *     the same name in `RateLimit-Policy` (draft 08 and later); of several policies, the one with
 *     the least remaining binds;
 *   - one `RateLimit` dictionary, `limit=…, remaining=…, reset=…` (draft 07).
 */
export function parseRateLimit(headers: IncomingHttpHeaders): RateLimitInfo | undefined {
  return separateFields(headers) ?? combinedField(header(headers, 'ratelimit'), header(headers, 'ratelimit-policy'));
}

function separateFields(headers: IncomingHttpHeaders): RateLimitInfo | undefined {
  const field = (name: string) => delaySeconds(header(headers, `ratelimit-${name}`));
  return rateLimitInfo(field('limit'), field('remaining'), field('reset'));
}

/** The fields that are known, or undefined when none is. */
function rateLimitInfo(limit: number | undefined, remaining: number | undefined, resetSeconds: number | undefined): RateLimitInfo | undefined {
  const info: RateLimitInfo = {};
  if (limit !== undefined) info.limit = limit;
  if (remaining !== undefined) info.remaining = remaining;
  if (resetSeconds !== undefined) info.resetSeconds = resetSeconds;
  return Object.keys(info).length > 0 ? info : undefined;
}

/** A non-negative integer parameter or member value, else undefined. */
const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined);

function combinedField(rateLimit: string | undefined, policy: string | undefined): RateLimitInfo | undefined {
  if (rateLimit === undefined) return undefined;
  return policyList(rateLimit, policy) ?? draft7Dictionary(rateLimit);
}

function policyList(rateLimit: string, policy: string | undefined): RateLimitInfo | undefined {
  let binding: { name: unknown; params: Parameters; remaining: number } | undefined;
  try {
    for (const [name, params] of parseList(rateLimit)) {
      const remaining = count(params.get('r'));
      if (remaining !== undefined && (binding === undefined || remaining < binding.remaining)) binding = { name, params, remaining };
    }
  } catch {
    return undefined;
  }
  return binding && rateLimitInfo(quotaOf(binding.name, policy), binding.remaining, count(binding.params.get('t')));
}

/** The quota `q` of the policy named `name` in `RateLimit-Policy`. */
function quotaOf(name: unknown, policy: string | undefined): number | undefined {
  if (policy === undefined) return undefined;
  try {
    // Policy names are strings in the drafts' examples; a token names one just as well.
    const text = (item: unknown) => (item instanceof Token ? item.toString() : item);
    const match = parseList(policy).find(([policyName]) => text(policyName) === text(name));
    return match ? count(match[1].get('q')) : undefined;
  } catch {
    return undefined;
  }
}

function draft7Dictionary(rateLimit: string): RateLimitInfo | undefined {
  let members;
  try {
    members = parseDictionary(rateLimit);
  } catch {
    return undefined;
  }
  const value = (key: string) => {
    const member = members.get(key);
    return member && !Array.isArray(member[0]) ? count(member[0]) : undefined;
  };
  return rateLimitInfo(value('limit'), value('remaining'), value('reset'));
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
