/**
 * What the two OAuth providers share: one client of the authorization server's token endpoint
 * (RFC 6749 §3.2, client_secret_basic) and a token cache with single-flight refresh.
 */
import type { Agent, IncomingMessage } from 'node:http';
import { backendError, BackendError } from './backendError.ts';
import { httpModuleFor } from './nodeHttp.ts';

export interface OAuthClientConfig {
  /** The authorization server's token endpoint, e.g. `https://auth.example.com/oauth/token`. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Total time for one token request. Default 10 s. */
  timeoutMs?: number;
}

export interface IssuedToken {
  accessToken: string;
  /** Seconds, from `expires_in`; undefined when the server did not say. */
  expiresIn?: number;
  /** The granted `scope`, when the server returned one. */
  scope?: string;
}

const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;
const OAUTH_ERROR = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/; // RFC 6749 §5.2 error charset

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding. */
function basicAuth(clientId: string, clientSecret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
}

export class OAuthTokenEndpoint {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly #authorization: string;
  readonly #timeoutMs: number;
  /** Created with the first request, for the URL's protocol. */
  #agent: Agent | undefined;

  constructor(config: OAuthClientConfig) {
    const url = new URL(config.tokenUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('token URL must be http(s)');
    if (url.username || url.password) throw new TypeError('token URL must not carry credentials');
    this.tokenUrl = url.href;
    this.clientId = config.clientId;
    this.#authorization = basicAuth(config.clientId, config.clientSecret);
    this.#timeoutMs = config.timeoutMs ?? 10_000;
  }

  /**
   * POST a form with client_secret_basic authentication; the JSON answer (undefined when not
   * JSON). Throws only BACKEND_TOKEN_UNAVAILABLE, naming the network error code.
   */
  async postForm(form: URLSearchParams, operationId: string, what: string): Promise<{ status: number; json: unknown }> {
    // node:http(s), not the undici package: a start with client credentials asks for its tokens
    // before anything else needs undici, which costs ~190 ms of CPU and ~18 MiB to load (src/README.md
    // D45). Nor global fetch, which refuses some ports outright. A redirect is an answer, not followed.
    const http = httpModuleFor(this.tokenUrl);
    this.#agent ??= new http.Agent({ keepAlive: true, maxSockets: 4 });
    const body = form.toString();
    let res: IncomingMessage;
    try {
      res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = http.request(
          this.tokenUrl,
          {
            method: 'POST',
            agent: this.#agent,
            headers: {
              authorization: this.#authorization,
              'content-type': 'application/x-www-form-urlencoded',
              'content-length': Buffer.byteLength(body),
              accept: 'application/json',
            },
            // Covers the whole exchange, the answer's body included.
            signal: AbortSignal.timeout(this.#timeoutMs),
          },
          resolve,
        );
        req.on('error', reject);
        req.end(body);
      });
    } catch (err) {
      const code = (err as { code?: unknown }).code ?? (err as { name?: unknown }).name;
      throw backendError('BACKEND_TOKEN_UNAVAILABLE', operationId, {
        reason: `${what} unreachable (${typeof code === 'string' ? code : 'error'})`,
      });
    }
    let json: unknown;
    try {
      json = await readJson(res);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode ?? 0, json };
  }

  /** POST the grant. Any failure is BACKEND_TOKEN_UNAVAILABLE naming at most the OAuth `error` code. */
  async requestToken(form: URLSearchParams, operationId: string): Promise<IssuedToken> {
    const grant = form.get('grant_type') ?? 'unknown grant';
    const fail = (reason: string, status?: number, causeCode?: string) =>
      backendError('BACKEND_TOKEN_UNAVAILABLE', operationId, {
        reason,
        ...(status === undefined ? {} : { status }),
        ...(causeCode === undefined ? {} : { causeCode }),
      });
    const { status, json } = await this.postForm(form, operationId, `token endpoint (${grant})`);
    if (status !== 200) {
      const error = json && typeof json === 'object' ? (json as Record<string, unknown>).error : undefined;
      const code = typeof error === 'string' && OAUTH_ERROR.test(error) ? error : 'no error code';
      throw fail(`token endpoint refused ${grant}: ${code}`, status, code === 'no error code' ? undefined : code);
    }
    const body = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
    const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn, scope } = body;
    if (typeof accessToken !== 'string' || !/^[\x21-\x7e]+$/.test(accessToken)) throw fail(`token endpoint sent no usable access_token for ${grant}`);
    if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') throw fail(`token endpoint sent a non-Bearer token for ${grant}`);
    const issued: IssuedToken = { accessToken };
    if (typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0) issued.expiresIn = expiresIn;
    if (typeof scope === 'string') issued.scope = scope;
    return issued;
  }

  async close(): Promise<void> {
    this.#agent?.destroy();
  }
}

async function readJson(body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown }): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_TOKEN_RESPONSE_BYTES) {
      body.destroy();
      throw new Error('token response too large');
    }
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

// ---------------------------------------------------------------------------------------------

export interface TokenCacheOptions {
  /** Milliseconds since the epoch. Injectable for tests. Default `Date.now`. */
  now?: () => number;
  /** Refresh this long before `expires_in` runs out. Default 60 s. */
  refreshSkewSeconds?: number;
  /** Lifetime assumed when the server sends no `expires_in`. Default 300 s. */
  defaultLifetimeSeconds?: number;
  /** Bound on cached tokens; the oldest go first. Default 10,000. */
  maxEntries?: number;
}

interface CachedToken {
  token: string;
  refreshAt: number;
}

/**
 * Tokens by key, each reused until `skew` before it expires; at most one fetch in flight per
 * key (single-flight), so a burst of calls after expiry costs one token request, not N.
 */
export class TokenCache {
  readonly #entries = new Map<string, CachedToken>();
  readonly #inflight = new Map<string, Promise<string>>();
  readonly #now: () => number;
  readonly #skewMs: number;
  readonly #defaultLifetimeMs: number;
  readonly #max: number;

  constructor(opts: TokenCacheOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#skewMs = (opts.refreshSkewSeconds ?? 60) * 1000;
    this.#defaultLifetimeMs = (opts.defaultLifetimeSeconds ?? 300) * 1000;
    this.#max = opts.maxEntries ?? 10_000;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, fetch: () => Promise<IssuedToken>): Promise<string> {
    const cached = this.#entries.get(key);
    if (cached) {
      if (this.#now() < cached.refreshAt) return Promise.resolve(cached.token);
      this.#entries.delete(key);
    }
    const pending = this.#inflight.get(key);
    if (pending) return pending;

    const started = this.#now();
    const promise = fetch()
      .then((issued) => {
        const lifetimeMs = issued.expiresIn !== undefined ? issued.expiresIn * 1000 : this.#defaultLifetimeMs;
        // Short-lived tokens would never be cached with a fixed 60 s skew: use at most half the lifetime.
        const skew = Math.min(this.#skewMs, lifetimeMs / 2);
        this.#store(key, { token: issued.accessToken, refreshAt: started + lifetimeMs - skew });
        return issued.accessToken;
      })
      .finally(() => {
        if (this.#inflight.get(key) === promise) this.#inflight.delete(key);
      });
    this.#inflight.set(key, promise);
    return promise;
  }

  invalidate(key: string, rejected?: string): void {
    const cached = this.#entries.get(key);
    if (cached && (rejected === undefined || cached.token === rejected)) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  #store(key: string, entry: CachedToken): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }
}

export function toTokenUnavailable(err: unknown, operationId: string): BackendError {
  if (err instanceof BackendError) return err;
  return backendError('BACKEND_TOKEN_UNAVAILABLE', operationId, { reason: 'token provider failed' });
}
