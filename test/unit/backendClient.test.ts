/**
 * The backend client against a tiny local HTTP server on 127.0.0.1:0 (a real socket: undici
 * is exercised end to end). Integration tests against the real mock backend live in
 * test/integration/backendClient.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { Pool } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BACKEND_INTERCEPTORS,
  BackendError,
  createBackendClient,
  egressGuard,
  isIdempotent,
  isSuccessStatus,
  retryDelayMs,
  type BackendClient,
  type BackendClientOptions,
  type OperationBinding,
  type TokenProvider,
  type TokenRequest,
} from '../../src/backend/index.ts';
import { adminAuth, getDraftBinding } from '../helpers/bindings.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Route = (req: IncomingMessage, res: ServerResponse, body: string, n: number) => void;

let server: Server;
let baseUrl: string;
let route: Route;
let seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      route(req, res, body, seen.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const clients: BackendClient[] = [];
afterEach(async () => {
  seen = [];
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A token provider that counts and can rotate its token. */
class FakeTokens implements TokenProvider {
  requests: TokenRequest[] = [];
  invalidated: { req: TokenRequest; rejected: string | undefined }[] = [];
  generation = 1;
  async getToken(req: TokenRequest) {
    this.requests.push(req);
    return `tok-${req.scopes.join('+')}-v${this.generation}`;
  }
  invalidate(req: TokenRequest, rejected?: string) {
    this.invalidated.push({ req, rejected });
    this.generation++;
  }
  describe() {
    return 'fake';
  }
}

function client(tokens: TokenProvider = new FakeTokens(), overrides: Partial<BackendClientOptions> = {}) {
  const c = createBackendClient({
    baseUrl,
    tokens,
    connectTimeoutMs: 2_000,
    headersTimeoutMs: 5_000,
    bodyTimeoutMs: 5_000,
    maxResponseBytes: 64 * 1024,
    retry: { maxRetries: 2, maxRetryAfterSeconds: 1, baseDelayMs: 5 },
    random: () => 0.5,
    ...overrides,
  });
  clients.push(c);
  return c;
}

const getDraft = getDraftBinding;

const publishDraft: OperationBinding = {
  operationId: 'publishDraft',
  method: 'POST',
  path: '/drafts/{filename}/publish',
  args: [
    { arg: 'filename', in: 'path', name: 'filename' },
    { arg: 'notify', in: 'body', name: 'notifySubscribers' },
  ],
  fixed: [],
  body: { contentType: 'application/json', required: false },
  successStatuses: [200],
  idempotencyKeyHeader: 'Idempotency-Key',
  credentials: adminAuth('drafts:publish'),
};

const deleteDraft: OperationBinding = { ...getDraft, operationId: 'deleteDraft', method: 'DELETE', successStatuses: [204], credentials: adminAuth('drafts:delete') };

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

describe('backend client: the request', () => {
  it('sends the per-operation token, accept, user agent and a well-formed traceparent', async () => {
    route = (_req, res) => json(res, 200, { filename: 'a.md' });
    const tokens = new FakeTokens();
    const res = await client(tokens, { userAgent: 'deputy-test/1' }).call(getDraft, { filename: 'a.md' }, {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect(res).toMatchObject({ status: 200, body: { filename: 'a.md' }, attempts: 1 });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe('/drafts/a.md');
    expect(seen[0]!.headers.authorization).toBe('Bearer tok-drafts:read-v1');
    expect(seen[0]!.headers['user-agent']).toBe('deputy-test/1');
    expect(seen[0]!.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(tokens.requests).toEqual([{ scopes: ['drafts:read'], operationId: 'getDraft', scheme: 'adminAuth', kind: 'bearer' }]);
  });

  it('drops a malformed traceparent instead of forwarding it', async () => {
    route = (_req, res) => json(res, 200, {});
    await client().call(getDraft, { filename: 'a.md' }, { traceparent: 'evil\r\nx: y' });
    expect(seen[0]!.headers.traceparent).toBeUndefined();
  });

  it('sends the idempotency key under the binding header, and a JSON body', async () => {
    route = (_req, res) => json(res, 200, { id: 'post_1' });
    await client().call(publishDraft, { filename: 'a.md', notify: true }, { idempotencyKey: 'k-123' });
    expect(seen[0]!.method).toBe('POST');
    expect(seen[0]!.headers['idempotency-key']).toBe('k-123');
    expect(seen[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[0]!.body)).toEqual({ notifySubscribers: true });
  });

  it('passes the caller to the token provider but never sends the caller token to the backend', async () => {
    route = (_req, res) => json(res, 200, {});
    const tokens = new FakeTokens();
    const caller = { token: 'caller-secret-token-xyz', subject: 'alice' };
    await client(tokens).call(getDraft, { filename: 'a.md' }, { caller });
    expect(tokens.requests[0]!.caller).toEqual(caller);
    expect(JSON.stringify(seen)).not.toContain('caller-secret-token-xyz');
  });

  it('refuses a traversal before any token is fetched or request made', async () => {
    const tokens = new FakeTokens();
    const err = await failure(client(tokens).call(getDraft, { filename: '%2e%2e' }, {}));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(tokens.requests).toHaveLength(0);
    expect(seen).toHaveLength(0);
  });

  it('refuses a binding path on another origin with BACKEND_EGRESS_DENIED and makes no request', async () => {
    for (const path of ['//evil.example/x', 'http://evil.example/x', 'https://127.0.0.1:1/x']) {
      const err = await failure(client().call({ ...getDraft, path, args: [] }, {}, {}));
      expect(err.code).toBe('BACKEND_EGRESS_DENIED');
    }
    expect(seen).toHaveLength(0);
  });

  it('composes retry outside the egress guard', () => {
    expect(BACKEND_INTERCEPTORS).toEqual(['retry', 'egressGuard']);
  });

  it('the egress guard refuses dispatches to another origin or a non-origin-relative path', async () => {
    const pool = new Pool(baseUrl);
    const guarded = pool.compose(egressGuard(new URL(baseUrl).origin));
    try {
      for (const opts of [
        { path: '//evil.example/x', method: 'GET' as const },
        { path: 'http://evil.example/x', method: 'GET' as const },
        { path: '/x', method: 'GET' as const, origin: 'http://evil.example' },
      ]) {
        expect(() => guarded.dispatch(opts, {})).toThrow(BackendError);
      }
      route = (_req, res) => json(res, 200, {});
      const ok = await guarded.request({ path: '/fine', method: 'GET' });
      await ok.body.dump();
      expect(ok.statusCode).toBe(200);
      expect(seen.map((s) => s.url)).toEqual(['/fine']);
    } finally {
      await pool.close();
    }
  });
});

describe('backend client: responses', () => {
  it('returns null for 204 and rate limit headers when present', async () => {
    route = (_req, res) => {
      res.writeHead(204, { 'ratelimit-limit': '100', 'ratelimit-remaining': '7', 'ratelimit-reset': '30' });
      res.end();
    };
    const res = await client().call(deleteDraft, { filename: 'a.md' }, {});
    expect(res).toMatchObject({ status: 204, body: null, headers: { rateLimit: { limit: 100, remaining: 7, resetSeconds: 30 } } });
  });

  it('maps a problem+json 400 to BACKEND_BAD_REQUEST with field names only', async () => {
    route = (_req, res) =>
      json(res, 400, {
        type: 'about:blank',
        title: 'Invalid request',
        status: 400,
        detail: 'x'.repeat(1000),
        errors: [{ field: 'query.limit', message: 'must be <= 100, you sent SECRET-ECHO' }],
      });
    const err = await failure(client().call(getDraft, { filename: 'a.md' }, {}));
    expect(err).toMatchObject({ code: 'BACKEND_BAD_REQUEST', status: 400, fields: ['query.limit'], operationId: 'getDraft' });
    expect(err.message).not.toContain('SECRET-ECHO');
    expect(err.message).not.toContain('Invalid request');
    expect(err.problem!.detail!.length).toBeLessThanOrEqual(200);
  });

  it('maps a 404 and keeps the backend body out of the message', async () => {
    route = (_req, res) => json(res, 404, { title: 'Not Found', status: 404, detail: 'no draft named a.md in /var/lib/drafts' });
    const err = await failure(client().call(getDraft, { filename: 'a.md' }, {}));
    expect(err.code).toBe('BACKEND_NOT_FOUND');
    expect(err.message).not.toContain('/var/lib');
    expect(err.problem?.detail).toContain('/var/lib');
  });

  it('maps invalid JSON on a success to BACKEND_MALFORMED_RESPONSE', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"items": [');
    };
    const err = await failure(client().call(getDraft, { filename: 'a.md' }, {}));
    expect(err).toMatchObject({ code: 'BACKEND_MALFORMED_RESPONSE', status: 200 });
  });

  it('maps a non-JSON content type on a success to BACKEND_MALFORMED_RESPONSE', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>login</html>');
    };
    const err = await failure(client().call(getDraft, { filename: 'a.md' }, {}));
    expect(err.code).toBe('BACKEND_MALFORMED_RESPONSE');
  });

  it('refuses an oversized body up front from content-length', async () => {
    route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) });
      res.write('[');
      // never finishes: the client must not wait for 10 MiB
    };
    const err = await failure(client().call(getDraft, { filename: 'a.md' }, { maxResponseBytes: 1024 }));
    expect(err.code).toBe('BACKEND_RESPONSE_TOO_LARGE');
  });

  it('aborts a streamed (chunked) body as soon as it crosses the cap', async () => {
    let written = 0;
    route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = () => {
        // Keep writing up to 8 MiB unless the client hangs up.
        while (written < 8 * 1024 * 1024 && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      pump();
    };
    const err = await failure(client().call(getDraft, { filename: 'a.md' }, { maxResponseBytes: 32 * 1024 }));
    expect(err.code).toBe('BACKEND_RESPONSE_TOO_LARGE');
    await new Promise((r) => setTimeout(r, 50));
    expect(written).toBeLessThan(8 * 1024 * 1024);
  });

  it('maps 429 to BACKEND_RATE_LIMITED with retryAfterSeconds (not retried past the limit)', async () => {
    route = (_req, res) => json(res, 429, { title: 'Too Many Requests', status: 429 }, { 'retry-after': '12', 'ratelimit-reset': '12' });
    const err = await failure(client().call(getDraft, { filename: 'a.md' }, {}));
    expect(err).toMatchObject({ code: 'BACKEND_RATE_LIMITED', status: 429, retryAfterSeconds: 12, attempts: 1 });
    expect(err.message).toContain('retry after 12 s');
    expect(seen).toHaveLength(1);
  });

  it('maps a refused connection to BACKEND_CONNECTION', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const err = await failure(
      client(new FakeTokens(), { baseUrl: `http://127.0.0.1:${port}`, retry: { maxRetries: 0, maxRetryAfterSeconds: 1 } }).call(getDraft, { filename: 'a.md' }, {}),
    );
    expect(err).toMatchObject({ code: 'BACKEND_CONNECTION', causeCode: 'ECONNREFUSED' });
  });

  it('maps a reset before the response to BACKEND_CONNECTION', async () => {
    route = (req) => req.socket.destroy();
    const err = await failure(client().call(publishDraft, { filename: 'a.md' }, {}));
    expect(err.code).toBe('BACKEND_CONNECTION');
    expect(seen).toHaveLength(1); // a POST without Idempotency-Key is never retried
  });
});

describe('backend client: timeouts and cancellation', () => {
  it('returns BACKEND_TIMEOUT at the call deadline when the backend hangs', async () => {
    route = () => {}; // never answers
    const started = Date.now();
    const err = await failure(client().call(getDraft, { filename: 'a.md' }, { timeoutMs: 400 }));
    expect(err.code).toBe('BACKEND_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(5 * 400);
  });

  it('does not retry a timed-out POST', async () => {
    route = () => {};
    const err = await failure(client().call(publishDraft, { filename: 'a.md' }, { timeoutMs: 150 }));
    expect(err.code).toBe('BACKEND_TIMEOUT');
    expect(seen).toHaveLength(1);
  });

  it('maps undici headers timeout to BACKEND_TIMEOUT', async () => {
    route = () => {};
    const err = await failure(
      client(new FakeTokens(), { headersTimeoutMs: 100, retry: { maxRetries: 0, maxRetryAfterSeconds: 1 } }).call(getDraft, { filename: 'a.md' }, { timeoutMs: 5_000 }),
    );
    expect(err).toMatchObject({ code: 'BACKEND_TIMEOUT', causeCode: 'UND_ERR_HEADERS_TIMEOUT' });
  });

  it('never sends a request that was still queued in the pool when the deadline passed', async () => {
    const held: ServerResponse[] = [];
    route = (_req, res) => held.push(res);
    const c = client(new FakeTokens(), { connections: 1 });
    const first = c.call(getDraft, { filename: 'a.md' }, { timeoutMs: 2_000 });
    await new Promise((r) => setTimeout(r, 50));
    const err = await failure(c.call(getDraft, { filename: 'b.md' }, { timeoutMs: 100 }));
    expect(err.code).toBe('BACKEND_TIMEOUT');
    json(held[0]!, 200, { ok: true });
    await first;
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.map((s) => s.url)).toEqual(['/drafts/a.md']);
  });

  it('maps a caller abort to BACKEND_ABORTED', async () => {
    route = () => {};
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err = await failure(client().call(getDraft, { filename: 'a.md' }, { signal: ac.signal }));
    expect(err.code).toBe('BACKEND_ABORTED');
  });

  it('times out a token provider that never answers', async () => {
    const stuck: TokenProvider = { getToken: () => new Promise(() => {}), invalidate() {}, describe: () => 'stuck' };
    const err = await failure(client(stuck).call(getDraft, { filename: 'a.md' }, { timeoutMs: 100 }));
    expect(err.code).toBe('BACKEND_TIMEOUT');
    expect(seen).toHaveLength(0);
  });

  it('maps a throwing token provider to BACKEND_TOKEN_UNAVAILABLE without its message', async () => {
    const broken: TokenProvider = {
      getToken: () => Promise.reject(new Error('could not read /secrets/tok: abc-secret')),
      invalidate() {},
      describe: () => 'broken',
    };
    const err = await failure(client(broken).call(getDraft, { filename: 'a.md' }, {}));
    expect(err.code).toBe('BACKEND_TOKEN_UNAVAILABLE');
    expect(err.message).not.toContain('abc-secret');
  });
});

describe('backend client: retries', () => {
  const flaky = (failures: number, status = 503, headers: Record<string, string> = {}): Route => (_req, res, _b, n) =>
    n <= failures ? json(res, status, { title: 'Unavailable', status }, headers) : json(res, 200, { ok: true });

  it('retries a GET on 503 and succeeds', async () => {
    route = flaky(2);
    const res = await client().call(getDraft, { filename: 'a.md' }, {});
    expect(res).toMatchObject({ status: 200, attempts: 3 });
    expect(seen).toHaveLength(3);
  });

  it('gives up after maxRetries with BACKEND_UNAVAILABLE', async () => {
    route = flaky(10, 502);
    const err = await failure(client().call(getDraft, { filename: 'a.md' }, {}));
    expect(err).toMatchObject({ code: 'BACKEND_UNAVAILABLE', status: 502, attempts: 3 });
    expect(seen).toHaveLength(3);
  });

  it('does not retry a POST without an idempotency key', async () => {
    route = flaky(1);
    const err = await failure(client().call(publishDraft, { filename: 'a.md' }, {}));
    expect(err.code).toBe('BACKEND_UNAVAILABLE');
    expect(seen).toHaveLength(1);
  });

  it('retries a POST that carries an idempotency key, with the same key and body', async () => {
    route = flaky(1);
    await client().call(publishDraft, { filename: 'a.md', notify: false }, { idempotencyKey: 'key-1' });
    expect(seen).toHaveLength(2);
    expect(seen.map((s) => s.headers['idempotency-key'])).toEqual(['key-1', 'key-1']);
    expect(seen[1]!.body).toBe(seen[0]!.body);
  });

  it('does not retry 500 or 4xx', async () => {
    route = flaky(1, 500);
    await failure(client().call(getDraft, { filename: 'a.md' }, {}));
    expect(seen).toHaveLength(1);
  });

  it('retries a 429 whose Retry-After is within the limit', async () => {
    route = flaky(1, 429, { 'retry-after': '0' });
    const res = await client().call(getDraft, { filename: 'a.md' }, {});
    expect(res.attempts).toBe(2);
  });

  it('retries a GET after a connection reset', async () => {
    route = (req, res, _b, n) => (n === 1 ? req.socket.destroy() : json(res, 200, { ok: true }));
    const res = await client().call(getDraft, { filename: 'a.md' }, {});
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(2);
  });

  it('does not retry when the backoff would outlive the deadline', async () => {
    route = flaky(5, 503, { 'retry-after': '1' });
    const err = await failure(
      client(new FakeTokens(), { retry: { maxRetries: 3, maxRetryAfterSeconds: 5 } }).call(getDraft, { filename: 'a.md' }, { timeoutMs: 500 }),
    );
    expect(err.code).toBe('BACKEND_UNAVAILABLE');
    expect(seen).toHaveLength(1);
  });
});

describe('backend client: 401', () => {
  it('invalidates the rejected token and retries exactly once with a fresh one', async () => {
    route = (req, res) => (req.headers.authorization === 'Bearer tok-drafts:read-v1' ? json(res, 401, { title: 'Unauthorized', status: 401 }) : json(res, 200, { ok: 1 }));
    const tokens = new FakeTokens();
    const res = await client(tokens).call(getDraft, { filename: 'a.md' }, {});
    expect(res.status).toBe(200);
    expect(tokens.invalidated).toEqual([{ req: { scopes: ['drafts:read'], operationId: 'getDraft', scheme: 'adminAuth', kind: 'bearer' }, rejected: 'tok-drafts:read-v1' }]);
    expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer tok-drafts:read-v1', 'Bearer tok-drafts:read-v2']);
  });

  it('with several credentials, invalidates each and retries once with the fresh set, each in its place', async () => {
    const combined: OperationBinding = { ...getDraft, credentials: [{ scheme: 'queryKey', kind: 'query', name: 'api_key', scopes: [] }, ...adminAuth('drafts:read')] };
    route = (req, res) => (req.url!.includes('-v1') ? json(res, 401, { title: 'Unauthorized', status: 401 }) : json(res, 200, { ok: 1 }));
    const tokens = new FakeTokens();
    const res = await client(tokens).call(combined, { filename: 'a.md' }, {});
    expect(res.status).toBe(200);
    expect(tokens.requests.map((r) => `${r.scheme}/${r.kind}`)).toEqual(['queryKey/query', 'adminAuth/bearer', 'queryKey/query', 'adminAuth/bearer']);
    expect(tokens.invalidated.map((i) => [i.req.scheme, i.rejected])).toEqual([['queryKey', 'tok--v1'], ['adminAuth', 'tok-drafts:read-v1']]);
    expect(seen.map((s) => [s.url, s.headers.authorization])).toEqual([
      ['/drafts/a.md?api_key=tok--v1', 'Bearer tok-drafts:read-v1'],
      ['/drafts/a.md?api_key=tok--v3', 'Bearer tok-drafts:read-v3'],
    ]);
  });

  it('retries a 401 even for a POST (nothing was done), but only once', async () => {
    route = (_req, res) => json(res, 401, { title: 'Unauthorized', status: 401 });
    const tokens = new FakeTokens();
    const err = await failure(client(tokens).call(publishDraft, { filename: 'a.md' }, {}));
    expect(err.code).toBe('BACKEND_UNAUTHORIZED');
    expect(err.operatorProblem).toBe(true);
    expect(seen).toHaveLength(2);
    expect(tokens.invalidated).toHaveLength(1);
  });

  it('does not resend when the provider has no fresher token (static keys)', async () => {
    route = (_req, res) => json(res, 401, { title: 'Unauthorized', status: 401 });
    const fixed: TokenProvider = { getToken: async () => 'static-token-aaaaaaaa', invalidate() {}, describe: () => 'static' };
    const err = await failure(client(fixed).call(getDraft, { filename: 'a.md' }, {}));
    expect(err.code).toBe('BACKEND_UNAUTHORIZED');
    expect(seen).toHaveLength(1);
  });
});

describe('backend client: secrets', () => {
  it('never shows the token in any error, its JSON or its inspection', async () => {
    const secret = 'tok-drafts:read-v1';
    const routes: Route[] = [
      (_req, res) => json(res, 401, { title: 'Unauthorized', status: 401, detail: 'bad token' }),
      (_req, res) => json(res, 403, { title: 'Forbidden', status: 403, missingScopes: ['drafts:publish'] }),
      (_req, res) => json(res, 503, {}),
      (req) => req.socket.destroy(),
      () => {},
    ];
    for (const r of routes) {
      route = r;
      const err = await failure(client(new FakeTokens(), { retry: { maxRetries: 0, maxRetryAfterSeconds: 0 } }).call(getDraft, { filename: 'a.md' }, { timeoutMs: 300 }));
      for (const text of [err.message, JSON.stringify(err), inspect(err, { depth: 10, showHidden: true }), String(err.stack)]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain('tok-drafts');
      }
    }
  });
});

describe('retryDelayMs (the retry rules)', () => {
  const rules = { maxRetries: 2, maxRetryAfterSeconds: 5, baseDelayMs: 100, maxDelayMs: 1000 };
  const half = () => 0.5;
  const cases: [string, Parameters<typeof retryDelayMs>[0], number | null][] = [
    ['GET 503 → backoff', { idempotent: true, retriesSoFar: 0, status: 503, remainingMs: 10_000 }, 50],
    ['GET 503 second retry doubles', { idempotent: true, retriesSoFar: 1, status: 503, remainingMs: 10_000 }, 100],
    ['budget used up', { idempotent: true, retriesSoFar: 2, status: 503, remainingMs: 10_000 }, null],
    ['non-idempotent never', { idempotent: false, retriesSoFar: 0, status: 503, remainingMs: 10_000 }, null],
    ['non-idempotent reset never', { idempotent: false, retriesSoFar: 0, code: 'ECONNRESET', remainingMs: 10_000 }, null],
    ['500 never', { idempotent: true, retriesSoFar: 0, status: 500, remainingMs: 10_000 }, null],
    ['404 never', { idempotent: true, retriesSoFar: 0, status: 404, remainingMs: 10_000 }, null],
    ['429 without Retry-After never', { idempotent: true, retriesSoFar: 0, status: 429, headers: {}, remainingMs: 10_000 }, null],
    ['429 Retry-After 2', { idempotent: true, retriesSoFar: 0, status: 429, headers: { 'retry-after': '2' }, remainingMs: 10_000 }, 2050],
    ['429 Retry-After over the limit', { idempotent: true, retriesSoFar: 0, status: 429, headers: { 'retry-after': '6' }, remainingMs: 10_000 }, null],
    ['503 Retry-After over the limit', { idempotent: true, retriesSoFar: 0, status: 503, headers: { 'retry-after': '60' }, remainingMs: 10_000 }, null],
    ['429 past the deadline', { idempotent: true, retriesSoFar: 0, status: 429, headers: { 'retry-after': '2' }, remainingMs: 1_000 }, null],
    ['refused → backoff', { idempotent: true, retriesSoFar: 0, code: 'ECONNREFUSED', remainingMs: 10_000 }, 50],
    ['body timeout never', { idempotent: true, retriesSoFar: 0, code: 'UND_ERR_BODY_TIMEOUT', remainingMs: 10_000 }, null],
    ['abort never', { idempotent: true, retriesSoFar: 0, code: 'UND_ERR_ABORTED', remainingMs: 10_000 }, null],
  ];
  it.each(cases)('%s', (_name, input, want) => {
    expect(retryDelayMs(input, rules, half)).toBe(want);
  });

  it('caps the backoff step', () => {
    expect(retryDelayMs({ idempotent: true, retriesSoFar: 9, status: 503, remainingMs: 60_000 }, { ...rules, maxRetries: 20 }, () => 1)).toBe(1000);
  });
});

describe('isIdempotent (which calls the retry rules may repeat)', () => {
  const cases: [string, Parameters<typeof isIdempotent>[0], string | undefined, boolean][] = [
    ['GET', { method: 'GET', idempotencyKeyHeader: null }, undefined, true],
    ['DELETE', { method: 'DELETE', idempotencyKeyHeader: null }, undefined, true],
    ['POST without a key', { method: 'POST', idempotencyKeyHeader: 'Idempotency-Key' }, undefined, false],
    ['POST with a key', { method: 'POST', idempotencyKeyHeader: 'Idempotency-Key' }, 'k1', true],
    ['POST with a key but no header to send it in', { method: 'POST', idempotencyKeyHeader: null }, 'k1', false],
    ['PATCH', { method: 'PATCH', idempotencyKeyHeader: null }, undefined, false],
  ];
  it.each(cases)('%s', (_name, binding, key, want) => {
    expect(isIdempotent(binding, key)).toBe(want);
  });
});

describe('isSuccessStatus (the one success check)', () => {
  const cases: [string, number[], number, boolean][] = [
    ['any 2xx when none declared', [], 204, true],
    ['3xx when none declared', [], 302, false],
    ['a declared status', [201], 201, true],
    ['an undeclared 2xx', [201], 200, false],
    ['an error status', [200], 404, false],
  ];
  it.each(cases)('%s', (_name, successStatuses, status, want) => {
    expect(isSuccessStatus({ successStatuses }, status)).toBe(want);
  });
});
