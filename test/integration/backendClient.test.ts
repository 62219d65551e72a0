/**
 * The backend client against the real mock backend on a real port: per-operation tokens from
 * its authorization server (checked in its request log), retries, every fault kind, rate limits.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMockBackend, type MockBackend } from '../../mock-backend/server.ts';
import {
  BackendError,
  BackendLimits,
  ClientCredentialsProvider,
  credentialKey,
  createBackendClient,
  findOverPrivilegedTokens,
  StaticTokenProvider,
  TokenExchangeProvider,
  type BackendClient,
  type BackendClientOptions,
  type OperationBinding,
  type TokenProvider,
} from '../../src/backend/index.ts';
import { adminAuth, getDraftBinding } from '../helpers/bindings.ts';

const STATIC_TOKENS = fileURLToPath(new URL('../../mock-backend/fixtures/static-tokens.yaml', import.meta.url));

const listDrafts: OperationBinding = {
  operationId: 'listDrafts',
  method: 'GET',
  path: '/drafts',
  args: [
    { arg: 'status', in: 'query', name: 'status' },
    { arg: 'limit', in: 'query', name: 'limit' },
  ],
  fixed: [],
  body: null,
  successStatuses: [200],
  idempotencyKeyHeader: null,
  credentials: adminAuth('drafts:read'),
};
const getDraft = getDraftBinding;
const publishDraft: OperationBinding = {
  operationId: 'publishDraft',
  method: 'POST',
  path: '/drafts/{filename}/publish',
  args: [
    { arg: 'filename', in: 'path', name: 'filename' },
    { arg: 'notifySubscribers', in: 'body', name: 'notifySubscribers' },
  ],
  fixed: [],
  body: { contentType: 'application/json', required: false },
  successStatuses: [200],
  idempotencyKeyHeader: 'Idempotency-Key',
  credentials: adminAuth('drafts:publish'),
};
const READ = ['drafts:read'];
const PUBLISH = ['drafts:publish'];
/** publishDraft bound to a token of the wrong scope: the backend must refuse it. */
const publishWithReadToken: OperationBinding = { ...publishDraft, credentials: adminAuth(...READ) };

let backend: MockBackend;
let cc: ClientCredentialsProvider;
const clients: BackendClient[] = [];
const providers: TokenProvider[] = [];

beforeAll(async () => {
  backend = await startMockBackend({ rateLimit: { limit: 1000, windowSeconds: 60 } });
  cc = new ClientCredentialsProvider({ tokenUrl: `${backend.url}/oauth/token`, clientId: 'deputy', clientSecret: 'dev-secret-deputy', resource: backend.url });
});
afterEach(async () => {
  backend.reset();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(providers.splice(0).map(async (p) => p.close?.()));
});
afterAll(async () => {
  await cc.close();
  await backend.close();
});

function client(tokens: TokenProvider = cc, overrides: Partial<BackendClientOptions> = {}): BackendClient {
  const c = createBackendClient({
    baseUrl: backend.url,
    tokens,
    connectTimeoutMs: 2_000,
    headersTimeoutMs: 10_000,
    bodyTimeoutMs: 10_000,
    maxResponseBytes: 1024 * 1024,
    retry: { maxRetries: 2, maxRetryAfterSeconds: 2, baseDelayMs: 10 },
    ...overrides,
  });
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<BackendError> {
  const err = await p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BackendError);
  return err as BackendError;
}

const entries = (operationId: string) => backend.requestLog.forOperation(operationId);

describe('per-operation tokens', () => {
  it('client credentials: each operation reaches the backend with a token holding exactly its scopes', async () => {
    const c = client();
    const list = await c.call(listDrafts, { status: 'in_review', limit: 5 }, {});
    expect(list.status).toBe(200);
    expect((list.body as { items: unknown[] }).items.length).toBeGreaterThan(0);
    expect(list.headers.rateLimit?.limit).toBe(1000);
    const post = await c.call(publishDraft, { filename: 'q3-pricing-update.md' }, { idempotencyKey: 'it-publish-1' });
    expect(post.body).toMatchObject({ sourceDraft: 'q3-pricing-update.md', status: 'live' });

    const [l] = entries('listDrafts');
    const [p] = entries('publishDraft');
    expect(l).toMatchObject({ status: 200, clientId: 'deputy', tokenKind: 'jwt', scopes: ['drafts:read'], query: 'status=in_review&limit=5' });
    expect(p).toMatchObject({ status: 200, clientId: 'deputy', scopes: ['drafts:publish'], idempotencyKey: 'it-publish-1' });
  });

  it('token exchange: the backend sees the user, acted on by deputy, and never the caller token', async () => {
    const agent = await request(`${backend.url}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('deputy-dev-agent:dev-secret-deputy-dev-agent').toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'password', username: 'alice', password: 'dev-password-alice', resource: 'http://127.0.0.1:3000/mcp' }).toString(),
    });
    const { access_token: callerToken } = (await agent.body.json()) as { access_token: string };
    const tx = new TokenExchangeProvider({ tokenUrl: `${backend.url}/oauth/token`, clientId: 'deputy', clientSecret: 'dev-secret-deputy', resource: backend.url });
    providers.push(tx);
    const res = await client(tx).call(getDraft, { filename: 'q3-pricing-update.md' }, { caller: { token: callerToken, subject: 'alice' } });
    expect(res.status).toBe(200);
    expect(entries('getDraft')[0]).toMatchObject({ subject: 'alice', actor: 'deputy', scopes: ['drafts:read'], status: 200 });
    expect(JSON.stringify(backend.requestLog.entries())).not.toContain(callerToken);
  });

  it('after a backend 401 the token is invalidated and the call retried once with a fresh one', async () => {
    let calls = 0;
    const revokedFirst: TokenProvider = {
      getToken: async (req) => (++calls === 1 ? 'acme_dev_revoked_3d7f1b5e9a2c0864' : cc.getToken(req)),
      invalidate: (req, rejected) => cc.invalidate(req, rejected),
      describe: () => 'revoked first',
    };
    const res = await client(revokedFirst).call(getDraft, { filename: 'q3-pricing-update.md' }, {});
    expect(res.status).toBe(200);
    expect(entries('getDraft').map((e) => e.status)).toEqual([401, 200]);
  });
});

describe('static token file against the mock', () => {
  it('serves each operation with the fixture key of exactly its scopes and reports the missing ones', async () => {
    const fixture = readFileSync(STATIC_TOKENS, 'utf8');
    const pick = (id: string) => {
      const m = new RegExp(`id: ${id}\\n\\s+token: (\\S+)`).exec(fixture);
      return m![1]!;
    };
    const tokens = StaticTokenProvider.fromYaml(
      `tokens:\n  - {id: key-drafts-read, scopes: [drafts:read], token: ${pick('key-drafts-read')}}\n  - {id: key-drafts-publish, scopes: [drafts:publish], token: ${pick('key-drafts-publish')}}\n`,
    );
    const coverage = tokens.coverage([
      { operationId: 'listDrafts', scopes: READ },
      { operationId: 'publishDraft', scopes: PUBLISH },
      { operationId: 'deleteDraft', scopes: ['drafts:delete'] },
    ]);
    expect(coverage.missing).toMatchObject([{ operationId: 'deleteDraft', scopes: ['drafts:delete'], kind: 'bearer' }]);

    await client(tokens).call(listDrafts, {}, {});
    await client(tokens).call(publishDraft, { filename: 'q3-pricing-update.md' }, { idempotencyKey: 'k-static' });
    expect(entries('listDrafts')[0]).toMatchObject({ tokenKind: 'static', clientId: 'key-drafts-read', scopes: ['drafts:read'] });
    expect(entries('publishDraft')[0]).toMatchObject({ tokenKind: 'static', clientId: 'key-drafts-publish', scopes: ['drafts:publish'] });
  });

  it('findOverPrivilegedTokens flags a JWT minted with more scopes than the operation needs', async () => {
    const broad = await cc.getToken({ operationId: 'x', scopes: ['drafts:read', 'posts:read'] });
    const tokens = StaticTokenProvider.fromYaml(`tokens:\n  - {id: broad, operations: [listDrafts], token: "${broad}"}\n`);
    const findings = await findOverPrivilegedTokens(tokens, [{ operationId: 'listDrafts', scopes: READ }]);
    expect(findings).toMatchObject([{ operationId: 'listDrafts', method: 'jwt', extraScopes: ['posts:read'] }]);
  });
});

describe('retries', () => {
  it('retries a GET on 503 and succeeds', async () => {
    backend.faults.set('listDrafts', { kind: 'status', status: 503, count: 1 });
    const res = await client().call(listDrafts, {}, {});
    expect(res).toMatchObject({ status: 200, attempts: 2 });
    expect(entries('listDrafts').map((e) => e.status)).toEqual([503, 200]);
  });

  it('does not retry a POST without an Idempotency-Key on 503', async () => {
    backend.faults.set('publishDraft', { kind: 'status', status: 503, count: 1 });
    const err = await failure(client().call(publishDraft, { filename: 'q3-pricing-update.md' }, {}));
    expect(err).toMatchObject({ code: 'BACKEND_UNAVAILABLE', status: 503, retryAfterSeconds: 1 });
    expect(entries('publishDraft').map((e) => e.status)).toEqual([503]);
  });

  it('retries a POST with an Idempotency-Key on 503, and it publishes once', async () => {
    backend.faults.set('publishDraft', { kind: 'status', status: 503, count: 1 });
    const res = await client().call(publishDraft, { filename: 'q3-pricing-update.md' }, { idempotencyKey: 'publish-q3-once' });
    expect(res.status).toBe(200);
    // The mock logs the key once its idempotency step ran, which the injected 503 precedes.
    expect(entries('publishDraft').map((e) => e.status)).toEqual([503, 200]);
    expect(entries('publishDraft')[1]!.idempotencyKey).toBe('publish-q3-once');
    expect([...backend.store.posts.values()].filter((p) => p.sourceDraft === 'q3-pricing-update.md')).toHaveLength(1);
  });

  it('retries a GET after a connection reset', async () => {
    backend.faults.set('listDrafts', { kind: 'reset', count: 1 });
    const res = await client().call(listDrafts, {}, {});
    expect(res.attempts).toBe(2);
  });
});

describe('faults → codes', () => {
  it('hang → BACKEND_TIMEOUT within the call timeout', async () => {
    backend.faults.set('getDraft', { kind: 'hang' });
    const started = Date.now();
    const err = await failure(client().call(getDraft, { filename: 'q3-pricing-update.md' }, { timeoutMs: 300 }));
    expect(err.code).toBe('BACKEND_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(5 * 300 + 1000);
  });

  it('reset → BACKEND_CONNECTION (POST, not retried)', async () => {
    backend.faults.set('publishDraft', { kind: 'reset' });
    const err = await failure(client().call(publishDraft, { filename: 'q3-pricing-update.md' }, {}));
    expect(err.code).toBe('BACKEND_CONNECTION');
    expect(entries('publishDraft')).toHaveLength(1);
  });

  it('reset on every attempt of a GET → BACKEND_CONNECTION after the retries', async () => {
    backend.faults.set('listDrafts', { kind: 'reset' });
    const err = await failure(client().call(listDrafts, {}, {}));
    expect(err).toMatchObject({ code: 'BACKEND_CONNECTION', attempts: 3 });
  });

  it('malformed → BACKEND_MALFORMED_RESPONSE', async () => {
    backend.faults.set('listDrafts', { kind: 'malformed' });
    const err = await failure(client().call(listDrafts, {}, {}));
    expect(err).toMatchObject({ code: 'BACKEND_MALFORMED_RESPONSE', status: 200 });
  });

  it('oversized → BACKEND_RESPONSE_TOO_LARGE', async () => {
    backend.faults.set('listDrafts', { kind: 'oversized', bytes: 4 * 1024 * 1024 });
    const err = await failure(client().call(listDrafts, {}, { maxResponseBytes: 256 * 1024 }));
    expect(err.code).toBe('BACKEND_RESPONSE_TOO_LARGE');
  });

  it('500 → BACKEND_UNAVAILABLE, not retried', async () => {
    backend.faults.set('listDrafts', { kind: 'status', status: 500 });
    const err = await failure(client().call(listDrafts, {}, {}));
    expect(err).toMatchObject({ code: 'BACKEND_UNAVAILABLE', status: 500, attempts: 1 });
  });

  it('404 for an unknown draft → BACKEND_NOT_FOUND', async () => {
    const err = await failure(client().call(getDraft, { filename: 'no-such-draft.md' }, {}));
    expect(err).toMatchObject({ code: 'BACKEND_NOT_FOUND', status: 404 });
  });

  it('409 for publishing twice → BACKEND_CONFLICT', async () => {
    const c = client();
    await c.call(publishDraft, { filename: 'q3-pricing-update.md' }, {});
    const err = await failure(c.call(publishDraft, { filename: 'q3-pricing-update.md' }, {}));
    expect(err.code).toBe('BACKEND_CONFLICT');
  });

  it('400 from the backend carries its field names', async () => {
    const err = await failure(client().call(listDrafts, { limit: 100000 }, {}));
    expect(err.code).toBe('BACKEND_BAD_REQUEST');
    expect(err.fields).toContain('query.limit');
  });

  it('403 for a token lacking the scope → BACKEND_FORBIDDEN naming the missing scope', async () => {
    const err = await failure(client().call(publishWithReadToken, { filename: 'q3-pricing-update.md' }, {}));
    expect(err).toMatchObject({ code: 'BACKEND_FORBIDDEN', missingScopes: ['drafts:publish'] });
  });
});

describe('secrets', () => {
  it('no token handed out appears in any BackendError, its JSON or its inspection', async () => {
    const handedOut: string[] = [];
    const recording: TokenProvider = {
      getToken: async (req) => {
        const t = await cc.getToken(req);
        handedOut.push(t);
        return t;
      },
      invalidate: (req, rejected) => cc.invalidate(req, rejected),
      describe: () => 'recording',
    };
    const c = client(recording);
    const errors: BackendError[] = [];
    for (const fault of [{ kind: 'status', status: 503 }, { kind: 'reset' }, { kind: 'malformed' }, { kind: 'oversized', bytes: 2048 }] as const) {
      backend.faults.set('listDrafts', fault);
      errors.push(await failure(c.call(listDrafts, {}, { maxResponseBytes: 1024 })));
    }
    errors.push(await failure(c.call(publishWithReadToken, { filename: 'q3-pricing-update.md' }, {})));
    expect(handedOut.length).toBeGreaterThan(0);
    const text = errors.map((e) => `${e.message} ${JSON.stringify(e)} ${inspect(e, { depth: 10, showHidden: true })} ${e.stack}`).join('\n');
    for (const token of new Set(handedOut)) expect(text).not.toContain(token);
    expect(`${inspect(cc)} ${JSON.stringify(cc)}`).not.toMatch(/dev-secret-deputy|eyJ/);
  });
});

describe('rate limits', () => {
  it('429 → BACKEND_RATE_LIMITED with retryAfterSeconds, not retried past maxRetryAfterSeconds', async () => {
    const limited = await startMockBackend({ rateLimit: { limit: 2, windowSeconds: 30 } });
    const tokens = new ClientCredentialsProvider({ tokenUrl: `${limited.url}/oauth/token`, clientId: 'deputy', clientSecret: 'dev-secret-deputy', resource: limited.url });
    providers.push(tokens);
    try {
      const limits = new BackendLimits();
      const c = client(tokens, { baseUrl: limited.url, limits });
      const credential = credentialKey(listDrafts);
      await c.call(listDrafts, {}, {});
      // Recorded per credential, by schemes and scopes: never the token.
      expect(limits.window(credential)).toMatchObject({ limit: 2, remaining: 1 });
      await c.call(listDrafts, {}, {});
      const err = await failure(c.call(listDrafts, {}, {}));
      expect(limits.window(credential)).toMatchObject({ limit: 2, remaining: 0, resetSeconds: err.retryAfterSeconds });
      expect(limits.lastRemaining()).toEqual([{ credential: 'adminAuth(drafts:read)', remaining: 0 }]);
      expect(err).toMatchObject({ code: 'BACKEND_RATE_LIMITED', status: 429, attempts: 1 });
      expect(err.retryAfterSeconds).toBeGreaterThan(2);
      expect(err.retryAfterSeconds).toBeLessThanOrEqual(30);
      expect(err.rateLimit).toMatchObject({ limit: 2, remaining: 0 });
      expect(err.message).toMatch(/retry after \d+ s/);
    } finally {
      await limited.close();
    }
  });
});
