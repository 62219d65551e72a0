/**
 * Auth, scopes and rate limits of the mock backend over real HTTP: 401 (missing, garbage,
 * expired, revoked, wrong audience) vs 403 (valid token, wrong scope), static API tokens, the
 * `RateLimit-*` headers, and a 429 that recovers after `Retry-After`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FIXTURES } from '../../mock-backend/seed.ts';
import { startMockBackend } from '../../mock-backend/server.ts';
import { call, expectConforms, sleep, useMockBackend } from '../helpers/mockBackend.ts';
import { mintBackendToken } from '../helpers/tokens.ts';

const mock = useMockBackend();

const staticTokens = (parse(readFileSync(fileURLToPath(new URL('../../mock-backend/fixtures/static-tokens.yaml', import.meta.url)), 'utf8')) as {
  tokens: { id: string; token: string; subject: string; scopes: string[] }[];
}).tokens;
const staticToken = (id: string) => {
  const t = staticTokens.find((s) => s.id === id);
  if (!t) throw new Error(`no static token ${id}`);
  return t;
};

describe('401: no valid token', () => {
  it('a request without a token gets a challenge without an error code (RFC 6750 §3.1)', async () => {
    const res = await mock.call('GET', '/drafts');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="acme-press-admin"');
    expect(res.headers['ratelimit-limit']).toBeUndefined();
    expectConforms(mock.backend.spec, 'listDrafts', res);
  });

  it('a garbage token gets invalid_token, and the token is never echoed', async () => {
    const garbage = 'not-a-real-token-4f1c2e';
    const res = await mock.call('GET', '/drafts', { token: garbage });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="acme-press-admin", error="invalid_token", error_description="[^"]+"$/);
    expect(res.text).not.toContain(garbage);
    expect(res.headers['www-authenticate']).not.toContain(garbage);
    expectConforms(mock.backend.spec, 'listDrafts', res);
  });

  it('an Authorization header that is not Bearer is refused as invalid_token', async () => {
    const res = await mock.call('GET', '/drafts', { headers: { authorization: 'Basic ZGVwdXR5OnNlY3JldA==' } });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('expired and revoked static tokens are refused with their reason', async () => {
    const expired = await mock.call('GET', '/drafts', { token: staticToken('key-expired').token });
    expect(expired.status).toBe(401);
    expect(expired.headers['www-authenticate']).toContain('error_description="token expired"');
    const revoked = await mock.call('GET', '/drafts', { token: staticToken('key-revoked').token });
    expect(revoked.status).toBe(401);
    expect(revoked.headers['www-authenticate']).toContain('error_description="token revoked"');
  });

  it('a JWT is refused once it expires', async () => {
    const clock = { ms: Date.now() };
    const backend = await startMockBackend({ now: () => clock.ms });
    try {
      const token = await mintBackendToken(backend.url, 'drafts:read');
      expect((await call(backend.url, 'GET', '/drafts', { token })).status).toBe(200);
      clock.ms += 901_000;
      const res = await call(backend.url, 'GET', '/drafts', { token });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_token", error_description="[^"]*expired[^"]*"/);
      expect(res.text).not.toContain(token);
    } finally {
      await backend.close();
    }
  });

  it("a JWT for another audience (an agent's token for Deputy) is refused", async () => {
    const { accessToken } = await mock.backend.auth.mintAccessToken({ subject: 'alice', clientId: 'deputy-dev-agent', audience: 'http://127.0.0.1:3000/mcp', scopes: ['drafts:read'] });
    const res = await mock.call('GET', '/drafts', { token: accessToken });
    expect(res.status).toBe(401);
    expect(mock.backend.requestLog.entries().at(-1)).toMatchObject({ operationId: 'listDrafts', status: 401, subject: null });
  });
});

describe('403: valid token, wrong scope', () => {
  it('a drafts:read token cannot publish, and nothing is published', async () => {
    const res = await mock.call('POST', `/drafts/${FIXTURES.draftInReview}/publish`, { token: await mock.token('drafts:read') });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ status: 403, missingScopes: ['drafts:publish'] });
    expect(res.body.detail).toContain('drafts:publish');
    expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(res.headers['www-authenticate']).toContain('scope="drafts:publish"');
    expectConforms(mock.backend.spec, 'publishDraft', res);
    expect(mock.backend.store.drafts.get(FIXTURES.draftInReview)?.status).toBe('in_review');
    expect(mock.backend.store.events.publications).toEqual([]);
  });

  it('a drafts:publish token cannot read drafts (scopes do not imply each other)', async () => {
    const res = await mock.call('GET', '/drafts', { token: await mock.token('drafts:publish') });
    expect(res.status).toBe(403);
    expect(res.body.missingScopes).toEqual(['drafts:read']);
  });

  it('a 403 is decided before validation: an invalid request with the wrong scope is still 403', async () => {
    const res = await mock.call('GET', '/drafts?limit=1000', { token: await mock.token('posts:read') });
    expect(res.status).toBe(403);
  });
});

describe('static API tokens', () => {
  it('work with exactly their scopes and are logged by id, never by value', async () => {
    const key = staticToken('key-drafts-read');
    const ok = await mock.call('GET', '/drafts', { token: key.token });
    expect(ok.status).toBe(200);
    const denied = await mock.call('GET', '/customers', { token: key.token });
    expect(denied.status).toBe(403);
    expect(denied.body.missingScopes).toEqual(['customers:read']);
    const entries = mock.backend.requestLog.entries();
    expect(entries[0]).toMatchObject({ operationId: 'listDrafts', subject: key.subject, clientId: key.id, scopes: key.scopes, tokenKind: 'static', status: 200 });
    expect(JSON.stringify(entries)).not.toContain(key.token);
  });
});

describe('rate limits', () => {
  it('every authenticated response carries RateLimit-*; Remaining counts down; 403s do not count', async () => {
    const token = await mock.token('drafts:read');
    const a = await mock.call('GET', '/drafts', { token });
    const b = await mock.call('GET', '/drafts/no-such-draft.md', { token });
    const c = await mock.call('GET', '/drafts?limit=0', { token });
    const forbidden = await mock.call('DELETE', `/drafts/${FIXTURES.draftInReview}`, { token });
    expect([a.status, b.status, c.status, forbidden.status]).toEqual([200, 404, 400, 403]);
    const limit = String(mock.backend.rateLimiter.config.limit);
    for (const res of [a, b, c, forbidden]) {
      expect(res.headers['ratelimit-limit']).toBe(limit);
      expect(Number(res.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(1);
    }
    const remaining = [a, b, c, forbidden].map((r) => Number(r.headers['ratelimit-remaining']));
    const max = mock.backend.rateLimiter.config.limit;
    expect(remaining).toEqual([max - 1, max - 2, max - 3, max - 3]);
  });

  it('over the limit → 429 with Retry-After; other tokens are unaffected; recovered after Retry-After', async () => {
    const backend = await startMockBackend({ rateLimit: { limit: 3, windowSeconds: 1 } });
    try {
      const token = await mintBackendToken(backend.url, 'drafts:read');
      const other = await mintBackendToken(backend.url, 'drafts:read');
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await call(backend.url, 'GET', '/drafts', { token })).status);
      expect(statuses).toEqual([200, 200, 200]);
      const limited = await call(backend.url, 'GET', '/drafts', { token });
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers['retry-after']);
      expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
      expect(limited.headers['ratelimit-remaining']).toBe('0');
      expect(limited.headers['content-type']).toBe('application/problem+json');
      expectConforms(backend.spec, 'listDrafts', limited);
      expect((await call(backend.url, 'GET', '/drafts', { token: other })).status).toBe(200);

      await sleep(retryAfter * 1000);
      const recovered = await call(backend.url, 'GET', '/drafts', { token });
      expect(recovered.status).toBe(200);
      expect(recovered.headers['ratelimit-remaining']).toBe('2');
      expect(backend.requestLog.forOperation('listDrafts').map((e) => e.status)).toEqual([200, 200, 200, 429, 200, 200]);
    } finally {
      await backend.close();
    }
  });
});
