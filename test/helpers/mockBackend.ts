/**
 * Talking to a running mock backend from tests: one `call()` over real HTTP (undici), and
 * `expectConforms()` to check a response against the spec the way a client of the contract would.
 */
import { request, type Dispatcher } from 'undici';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { startMockBackend, type MockBackend, type MockBackendOptions } from '../../mock-backend/server.ts';
import type { ApiSpec } from '../../mock-backend/spec.ts';
import { mintBackendToken } from './tokens.ts';

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  contentType: string | null;
  text: string;
  /** Parsed JSON when the body is JSON, else undefined. */
  body: any;
}

export interface CallOptions {
  token?: string;
  /** Serialised as JSON unless `rawBody` is given. */
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  dispatcher?: Dispatcher;
}

export async function call(baseUrl: string, method: string, path: string, opts: CallOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
  let body: string | undefined = opts.rawBody;
  if (body === undefined && opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await request(`${baseUrl}${path}`, {
    method: method.toUpperCase(),
    headers,
    ...(body !== undefined ? { body } : {}),
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
  });
  const text = await res.body.text();
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
  const contentType = flat['content-type'] ?? null;
  let parsed: unknown;
  if (contentType && /json/.test(contentType) && text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  return { status: res.statusCode, headers: flat, contentType, text, body: parsed };
}

/** Fails the test unless the response is one the spec documents for `operationId`, with a valid body. */
export function expectConforms(spec: ApiSpec, operationId: string, res: ApiResponse): void {
  const result = spec.validateResponse(operationId, { status: res.status, contentType: res.contentType, body: res.text.length > 0 ? res.body : undefined });
  expect(result, `${operationId} ${res.status} ${res.text.slice(0, 300)}`).toEqual({ ok: true });
}

/** Loopback-friendly sleep for the few tests that must wait on a real clock. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


export interface MockBackendFixture {
  readonly backend: MockBackend;
  readonly url: string;
  /** A backend JWT with exactly these scopes; cached per scope set for the file (reset() keeps tokens valid). */
  token(scopes: string | readonly string[]): Promise<string>;
  /** `call()` against this backend. */
  call(method: string, path: string, opts?: CallOptions): Promise<ApiResponse>;
}

/** Starts one mock backend for the test file, resets it before each test, closes it after. */
export function useMockBackend(opts: MockBackendOptions = {}): MockBackendFixture {
  let backend: MockBackend | undefined;
  const tokens = new Map<string, Promise<string>>();
  beforeAll(async () => {
    backend = await startMockBackend(opts);
  });
  beforeEach(() => backend?.reset());
  afterAll(async () => {
    await backend?.close();
  });
  const running = (): MockBackend => {
    if (!backend) throw new Error('the mock backend is not running (use inside tests)');
    return backend;
  };
  return {
    get backend() {
      return running();
    },
    get url() {
      return running().url;
    },
    token(scopes) {
      const key = typeof scopes === 'string' ? scopes : scopes.join(' ');
      let t = tokens.get(key);
      if (!t) {
        t = mintBackendToken(running().url, key);
        tokens.set(key, t);
      }
      return t;
    },
    call: (method, path, callOpts) => call(running().url, method, path, callOpts),
  };
}
