/**
 * Starts the mock admin backend on a real socket: the API of `openapi/admin-api.yaml`, the dev
 * authorization server (auth/), faults and control endpoints, with a fresh store from the seed.
 *
 *   const backend = await startMockBackend();          // 127.0.0.1, a free port
 *   await fetch(`${backend.url}/drafts`, { headers: { authorization: `Bearer ${token}` } });
 *   backend.reset();                                     // between tests
 *   await backend.close();                               // frees the port, drops every connection
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { createAuthServer, type AuthServer } from './auth/authServer.ts';
import { FaultInjector } from './faults.ts';
import { catchAllHandler } from './handlers/catchAll.ts';
import { controlHandlers } from './handlers/control.ts';
import { operationResolvers } from './handlers/index.ts';
import { IdempotencyStore } from './idempotency.ts';
import { operationHandlers } from './pipeline.ts';
import { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimitConfig } from './rateLimit.ts';
import { RequestLog } from './requestLog.ts';
import { loadSpec, type ApiSpec } from './spec.ts';
import { MockStore } from './store.ts';

export interface MockBackendOptions {
  /** Default 0: a free port chosen by the OS. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Requests per window per token; default 60 per 10 s, small enough for a test to hit. */
  rateLimit?: RateLimitConfig;
  /** Milliseconds since the epoch; inject to control token expiry, rate-limit windows and timestamps. */
  now?: () => number;
  /** Check every handler reply against the spec and answer 500 on a mismatch (default true). */
  validateResponses?: boolean;
  /** Lifetime of tokens from the dev authorization server (default 900 s). */
  accessTokenTtlSeconds?: number;
}

export interface MockBackend {
  /** Base URL, e.g. `http://127.0.0.1:4010`; also the issuer and audience of backend tokens. */
  url: string;
  port: number;
  host: string;
  spec: ApiSpec;
  store: MockStore;
  requestLog: RequestLog;
  faults: FaultInjector;
  rateLimiter: RateLimiter;
  idempotency: IdempotencyStore;
  auth: AuthServer;
  /** Seed data, request log, faults, rate-limit windows and idempotency keys back to the start. */
  reset(): void;
  /** Stops listening and destroys every connection (kept-alive, hung, delayed); resolves when the port is free. */
  close(): Promise<void>;
}

export async function startMockBackend(opts: MockBackendOptions = {}): Promise<MockBackend> {
  const host = opts.host ?? '127.0.0.1';
  const now = opts.now ?? Date.now;
  const spec = loadSpec();

  // The issuer/audience is the base URL, known only once the port is: listen first, attach later.
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  try {
    const port = (server.address() as AddressInfo).port;
    const url = `http://${urlHost(host)}:${port}`;
    const auth = await createAuthServer({
      issuer: url,
      backendAudience: url,
      now,
      ...(opts.accessTokenTtlSeconds !== undefined ? { accessTokenTtlSeconds: opts.accessTokenTtlSeconds } : {}),
    });

    const store = new MockStore();
    const requestLog = new RequestLog();
    const faults = new FaultInjector(spec);
    const rateLimiter = new RateLimiter(opts.rateLimit ?? DEFAULT_RATE_LIMIT, now);
    const idempotency = new IdempotencyStore(now);
    const reset = (): void => {
      store.reset();
      requestLog.clear();
      faults.clear();
      rateLimiter.reset();
      idempotency.reset();
    };

    const handlers = [
      ...controlHandlers({ spec, faults, requestLog, reset }),
      ...auth.handlers,
      ...operationHandlers(
        { spec, store, verifyToken: (t) => auth.verifyBackendToken(t), rateLimiter, idempotency, now, validateResponses: opts.validateResponses ?? true },
        operationResolvers,
      ),
      catchAllHandler,
    ];
    server.on('request', createApp({ requestLog, faults, handlers, now }));

    return { url, port, host, spec, store, requestLog, faults, rateLimiter, idempotency, auth, reset, close: () => closeServer(server) };
  } catch (err) {
    await closeServer(server);
    throw err;
  }
}

/** 0.0.0.0 / :: listen everywhere but are not addresses a client can use; name loopback instead. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) return resolve();
    server.close((err) => (err ? reject(err) : resolve()));
    // Kept-alive, hung and delayed requests would hold close() forever.
    server.closeAllConnections();
  });
}
