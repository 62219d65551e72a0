/**
 * `RateLimit-*` answers in each form of draft-ietf-httpapi-ratelimit-headers the client accepts
 * (src/backend/responseHeaders.ts): separate fields, the draft-7 dictionary, and the draft-8+
 * `RateLimit` list with its `RateLimit-Policy`.
 */
import { describe, expect, it } from 'vitest';
import { parseRateLimit, type RateLimitInfo } from '../../src/backend/index.ts';

const cases: [string, Record<string, string>, RateLimitInfo | undefined][] = [
  ['separate fields (the mock)', { 'ratelimit-limit': '60', 'ratelimit-remaining': '12', 'ratelimit-reset': '7' }, { limit: 60, remaining: 12, resetSeconds: 7 }],
  ['separate fields win over a combined one', { 'ratelimit-remaining': '3', ratelimit: '"default";r=50;t=30' }, { remaining: 3 }],
  ['draft 8+: one policy, quota from RateLimit-Policy', { ratelimit: '"default";r=50;t=30', 'ratelimit-policy': '"default";q=100;w=60' }, { limit: 100, remaining: 50, resetSeconds: 30 }],
  ['draft 8+: the policy with least remaining binds', { ratelimit: '"burst";r=40;t=5, "day";r=7;t=3000', 'ratelimit-policy': '"burst";q=100;w=60, "day";q=1000;w=86400' }, { limit: 1000, remaining: 7, resetSeconds: 3000 }],
  ['draft 8+: token policy names', { ratelimit: 'burst;r=4;t=2', 'ratelimit-policy': 'burst;q=10;w=5' }, { limit: 10, remaining: 4, resetSeconds: 2 }],
  ['draft 8+: no policy field', { ratelimit: '"default";r=9;t=1' }, { remaining: 9, resetSeconds: 1 }],
  ['draft 7 dictionary', { ratelimit: 'limit=100, remaining=25, reset=5', 'ratelimit-policy': '100;w=60' }, { limit: 100, remaining: 25, resetSeconds: 5 }],
  ['negative and fractional numbers are not counts', { ratelimit: '"default";r=-1;t=2.5' }, undefined],
  ['not a structured field', { ratelimit: 'limit: lots' }, undefined],
  ['nothing', {}, undefined],
];

describe('parseRateLimit', () => {
  it.each(cases)('%s', (_name, headers, want) => {
    expect(parseRateLimit(headers)).toEqual(want);
  });
});
