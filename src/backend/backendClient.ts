/**
 * The backend client: one undici Pool per backend origin with composed interceptors, turning
 * (operation binding, tool arguments, call context) into one authenticated HTTP call and every
 * failure into one BackendError.
 *
 * Dispatch chain, outermost first (pinned by a unit test):
 *   retry        undici's retry interceptor; each call passes its own retry policy (retryPolicy
 *                below) so only idempotent calls are retried, within the call's deadline
 *   egressGuard  refuses any dispatch that names another origin or a non-origin-relative path,
 *                on every attempt (defence in depth behind buildRequest's URL check)
 *   Pool         connect/headers/body timeouts
 *
 * Credentials are attached per call, not by an interceptor: fetching them is async, can fail
 * (BACKEND_TOKEN_UNAVAILABLE before any socket work) and the 401 → invalidate → one retry loop
 * needs the values that were rejected. Each goes where its security scheme says
 * (placeCredentials), after every header and query parameter the model controls.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { interceptors, Pool, type Dispatcher } from 'undici';
import { backendError, BackendError, errorFromResponse, type BackendErrorCode } from './backendError.ts';
import { buildRequest, parseBaseUrl, type BackendTarget, type BuiltRequest } from './buildRequest.ts';
import type { OperationBinding } from './operation.ts';
import { placeCredentials } from './placeCredentials.ts';
import { headerValue, parseRateLimit, parseRetryAfter, type RateLimitInfo } from './responseHeaders.ts';
import type { CallerIdentity, TokenProvider, TokenRequest } from './tokenProvider.ts';

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

export interface BackendClientOptions {
  /** The backend's base URL. Its origin is the only one requests may reach (egress allowlist). */
  baseUrl: string;
  tokens: TokenProvider;
  connectTimeoutMs: number;
  /** Default time to the response headers; per attempt. */
  headersTimeoutMs: number;
  /** Default time between two body chunks; per attempt. */
  bodyTimeoutMs: number;
  /** Default response body cap. */
  maxResponseBytes: number;
  retry: RetryOptions;
  userAgent?: string;
  /** Default total time of one call (token, attempts, backoff) when the context sets none. Default 30 s. */
  timeoutMs?: number;
  /** Sockets in the pool. Default 64. */
  connections?: number;
  /** Jitter source, injectable for tests. Default Math.random. */
  random?: () => number;
}

export interface CallContext {
  /** Total time of this call, retries and token fetch included. */
  timeoutMs?: number;
  maxResponseBytes?: number;
  /** Sent in the binding's idempotency header on writes; also makes a POST retryable. */
  idempotencyKey?: string;
  /** W3C trace context of the tool call; forwarded when well-formed. */
  traceparent?: string;
  /** The calling user, for the token exchange provider. Never sent to the backend. */
  caller?: CallerIdentity;
  signal?: AbortSignal;
}

export interface BackendResponse {
  status: number;
  /** Parsed JSON, or null for 204/205, HEAD and empty bodies. */
  body: unknown;
  headers: { rateLimit?: RateLimitInfo; contentType?: string };
  /** HTTP attempts made, retries included. */
  attempts: number;
}

export interface BackendClient {
  call(binding: OperationBinding, args: Readonly<Record<string, unknown>>, ctx: CallContext): Promise<BackendResponse>;
  close(): Promise<void>;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
const RETRY_STATUSES = new Set([502, 503, 504]);
/** Failures to reach the backend at all — the request did not get processed. */
const RETRY_NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
  'EHOSTDOWN', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const MALFORMED_CODES = new Set(['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'HPE_INVALID_CONSTANT', 'HPE_INVALID_HEADER_TOKEN']);
/** Error bodies are read only for problem details; no need to take more than this. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

// ---------------------------------------------------------------------------------------------
// The deadline of one call

type StopReason = 'timeout' | 'aborted';

/** The total time budget of one call, and the caller's cancellation, as one signal. */
class Deadline {
  readonly #controller = new AbortController();
  readonly #end: number;
  readonly #timer: NodeJS.Timeout;
  readonly #parent: AbortSignal | undefined;
  readonly #onParentAbort = () => this.#stop('aborted');
  reason: StopReason | undefined;

  constructor(ms: number, parent?: AbortSignal) {
    this.#end = Date.now() + ms;
    this.#timer = setTimeout(() => this.#stop('timeout'), ms);
    this.#parent = parent;
    if (parent?.aborted) this.#stop('aborted');
    else parent?.addEventListener('abort', this.#onParentAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  remainingMs(): number {
    return this.#end - Date.now();
  }

  #stop(reason: StopReason): void {
    if (this.reason) return;
    this.reason = reason;
    this.#controller.abort();
  }

  /** Settle with `promise`, or reject when the deadline passes first. */
  race<T>(promise: Promise<T>, onStop: () => Error): Promise<T> {
    if (this.reason) return Promise.reject(onStop());
    return new Promise<T>((resolve, reject) => {
      const stop = () => reject(onStop());
      this.signal.addEventListener('abort', stop, { once: true });
      promise.then(
        (v) => {
          this.signal.removeEventListener('abort', stop);
          resolve(v);
        },
        (e: unknown) => {
          this.signal.removeEventListener('abort', stop);
          reject(e);
        },
      );
    });
  }

  /** Wait `ms`, unless the deadline passes first. */
  sleep(ms: number, done: () => void, stopped: () => void): void {
    if (this.reason) return stopped();
    const onAbort = () => {
      clearTimeout(timer);
      stopped();
    };
    const timer = setTimeout(() => {
      this.signal.removeEventListener('abort', onAbort);
      done();
    }, ms);
    this.signal.addEventListener('abort', onAbort, { once: true });
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#parent?.removeEventListener('abort', this.#onParentAbort);
  }
}

// ---------------------------------------------------------------------------------------------
// Network errors → codes

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function codeForNetworkError(code: string | undefined): BackendErrorCode {
  if (code && TIMEOUT_CODES.has(code)) return 'BACKEND_TIMEOUT';
  if (code && MALFORMED_CODES.has(code)) return 'BACKEND_MALFORMED_RESPONSE';
  return 'BACKEND_CONNECTION';
}

function networkError(operationId: string, err: unknown, attempts: number): BackendError {
  if (err instanceof BackendError) return err;
  const causeCode = errorCode(err);
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number') {
    const headers = ((err as { headers?: IncomingHttpHeaders }).headers ?? {});
    return errorFromResponse(operationId, status, headers, undefined, attempts);
  }
  const code = codeForNetworkError(causeCode);
  return backendError(code, operationId, causeCode ? { causeCode, attempts, reason: causeCode } : { attempts });
}

// ---------------------------------------------------------------------------------------------
// One attempt's response, collected with a size cap

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** null when the body was skipped (an error body over the error-body cap). */
  body: Buffer | null;
}

/**
 * Collects one response. Never buffers past the cap: a `content-length` over it fails before
 * any byte is read, and a streamed body is aborted at the first chunk that crosses it.
 */
class ResponseCollector implements Dispatcher.DispatchHandler {
  readonly promise: Promise<RawResponse>;
  /** True once a response reached us; a retry after that would replay a half-read body. */
  responded = false;
  settled = false;
  #resolve!: (r: RawResponse) => void;
  #reject!: (e: Error) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #failure: Error | undefined;
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  #chunks: Buffer[] = [];
  #size = 0;
  #limit = 0;
  #skipBody = false;

  constructor(
    private readonly operationId: string,
    private readonly maxBytes: number,
    private readonly isSuccess: (status: number) => boolean,
    private readonly attempts: () => number,
  ) {
    this.promise = new Promise<RawResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Settle with `err` now and abort whatever is in flight. */
  fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.#failure = err;
    this.#reject(err);
    this.#controller?.abort(err);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#failure) controller.abort(this.#failure); // the deadline passed while the request was queued
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (this.settled) return;
    this.responded = true;
    this.#status = status;
    this.#headers = headers;
    const success = this.isSuccess(status);
    this.#limit = success ? this.maxBytes : Math.min(this.maxBytes, MAX_ERROR_BODY_BYTES);
    const declared = Number(headerValue(headers, 'content-length'));
    if (Number.isFinite(declared) && declared > this.#limit) {
      if (success) this.#tooLarge();
      else {
        // Skip the error body (we only wanted problem details) and keep the status.
        this.#skipBody = true;
        this.#finish(null);
        controller.abort(new Error('error body skipped'));
      }
    }
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled || this.#skipBody) return;
    this.#size += chunk.length;
    if (this.#size > this.#limit) {
      if (this.isSuccess(this.#status)) return this.#tooLarge();
      this.#skipBody = true;
      this.#chunks = [];
      this.#finish(null);
      this.#controller?.abort(new Error('error body skipped'));
      return;
    }
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.#finish(this.#skipBody ? null : this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size));
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.settled) return;
    this.fail(networkError(this.operationId, err, this.attempts()));
  }

  #finish(body: Buffer | null): void {
    this.settled = true;
    this.#chunks = [];
    this.#resolve({ status: this.#status, headers: this.#headers, body });
  }

  #tooLarge(): void {
    this.fail(
      backendError('BACKEND_RESPONSE_TOO_LARGE', this.operationId, {
        status: this.#status,
        attempts: this.attempts(),
        reason: `over ${this.#limit} bytes`,
      }),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Interceptors

/**
 * Refuses any dispatch that is not an origin-relative path on `origin`. The Pool is bound to
 * one origin already; this makes a wrong path (`//evil.example/x`, `http://…`) fail loudly on
 * every attempt instead of reaching the backend as an odd request target.
 */
export function egressGuard(origin: string): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) =>
    function egressGuardInterceptor(opts, handler) {
      const named = opts.origin === undefined ? origin : safeOrigin(opts.origin);
      if (named !== origin || !opts.path.startsWith('/') || opts.path.startsWith('//')) {
        throw backendError('BACKEND_EGRESS_DENIED', 'dispatch', { reason: 'the request target is not on the backend origin' });
      }
      return dispatch(opts, handler);
    };
}

function safeOrigin(value: string | URL): string | undefined {
  try {
    return new URL(String(value)).origin;
  } catch {
    return undefined;
  }
}

type RetryCallback = NonNullable<interceptors.RetryInterceptorOpts['retry']>;

/** Nothing is retried unless a call brings its own policy. */
const NEVER_RETRY: RetryCallback = (err, _ctx, cb) => cb(err);

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

// ---------------------------------------------------------------------------------------------

/**
 * The dispatch chain, outermost first. Retry is outside the egress guard so every attempt is
 * checked again; the Pool (timeouts) is innermost.
 */
export const BACKEND_INTERCEPTORS = ['retry', 'egressGuard'] as const;

export function createBackendClient(opts: BackendClientOptions): BackendClient {
  const target: BackendTarget = parseBaseUrl(opts.baseUrl);
  const pool = new Pool(target.origin, {
    connect: { timeout: opts.connectTimeoutMs },
    headersTimeout: opts.headersTimeoutMs,
    bodyTimeout: opts.bodyTimeoutMs,
    connections: opts.connections ?? 64,
    pipelining: 1,
  });
  const available: Record<(typeof BACKEND_INTERCEPTORS)[number], Dispatcher.DispatcherComposeInterceptor> = {
    retry: interceptors.retry({ throwOnError: false, retry: NEVER_RETRY }),
    egressGuard: egressGuard(target.origin),
  };
  // compose() wraps in array order, so the last one is outermost: reverse the outermost-first list.
  const dispatcher = pool.compose([...BACKEND_INTERCEPTORS].reverse().map((name) => available[name]));
  const random = opts.random ?? Math.random;
  const defaultTimeoutMs = opts.timeoutMs ?? 30_000;
  const userAgent = opts.userAgent ?? 'deputy';
  let closed = false;

  async function getToken(req: TokenRequest, deadline: Deadline): Promise<string> {
    const stopped = () => stopError(req.operationId, deadline, 0);
    try {
      return await deadline.race(opts.tokens.getToken(req), stopped);
    } catch (err) {
      if (err instanceof BackendError) throw err;
      throw backendError('BACKEND_TOKEN_UNAVAILABLE', req.operationId, { reason: 'the token provider failed' });
    }
  }

  /** One logical attempt (with its transport-level retries) carrying `token`. */
  function send(
    binding: OperationBinding,
    built: BuiltRequest,
    ctx: CallContext,
    credentials: readonly string[],
    deadline: Deadline,
    attemptsBefore: number,
  ): Promise<{ raw: RawResponse; attempts: number }> {
    const operationId = binding.operationId;
    const idempotent = IDEMPOTENT_METHODS.has(binding.method) || (binding.idempotencyKeyHeader !== null && ctx.idempotencyKey !== undefined);
    const isSuccess = (s: number) => (binding.successStatuses.length > 0 ? binding.successStatuses.includes(s) : s >= 200 && s < 300);
    let retries = 0;
    const attempts = () => attemptsBefore + retries + 1;
    const collector = new ResponseCollector(operationId, ctx.maxResponseBytes ?? opts.maxResponseBytes, isSuccess, attempts);

    const placed = placeCredentials(operationId, built.path, binding.credentials, credentials);
    const headers: Record<string, string> = {
      ...built.headers,
      accept: 'application/json, application/problem+json;q=0.9',
      'user-agent': userAgent,
    };
    if (built.contentType) headers['content-type'] = built.contentType;
    if (ctx.traceparent && TRACEPARENT.test(ctx.traceparent)) headers.traceparent = ctx.traceparent;
    if (binding.idempotencyKeyHeader && ctx.idempotencyKey !== undefined) headers[binding.idempotencyKeyHeader.toLowerCase()] = ctx.idempotencyKey;
    Object.assign(headers, placed.headers); // last: nothing else may overwrite a credential

    const retry: RetryCallback = (err, _context, cb) => {
      const e = err as { statusCode?: number; headers?: IncomingHttpHeaders };
      const input: RetryDecisionInput = { idempotent, retriesSoFar: retries, remainingMs: deadline.remainingMs() };
      if (typeof e.statusCode === 'number') {
        input.status = e.statusCode;
        if (e.headers) input.headers = e.headers;
      } else {
        const code = errorCode(err);
        if (code !== undefined) input.code = code;
      }
      const delay = collector.settled || collector.responded || deadline.reason ? null : retryDelayMs(input, opts.retry, random);
      if (delay === null) return cb(err);
      retries++;
      deadline.sleep(delay, () => cb(null), () => cb(err));
    };

    const onStop = () => collector.fail(stopError(operationId, deadline, attempts()));
    deadline.signal.addEventListener('abort', onStop, { once: true });
    if (deadline.reason) onStop();
    else {
      const dispatchOpts: Dispatcher.DispatchOptions & { retryOptions: interceptors.RetryInterceptorOpts } = {
        method: built.method,
        path: placed.path,
        headers,
        body: built.body,
        headersTimeout: Math.min(opts.headersTimeoutMs, Math.max(1, deadline.remainingMs())),
        bodyTimeout: opts.bodyTimeoutMs,
        retryOptions: { retry },
      };
      try {
        dispatcher.dispatch(dispatchOpts, collector);
      } catch (err) {
        collector.fail(networkError(operationId, err, attempts()));
      }
    }
    return collector.promise.then(
      (raw) => {
        deadline.signal.removeEventListener('abort', onStop);
        return { raw, attempts: attempts() };
      },
      (err: unknown) => {
        deadline.signal.removeEventListener('abort', onStop);
        throw err;
      },
    );
  }

  async function call(binding: OperationBinding, args: Readonly<Record<string, unknown>>, ctx: CallContext): Promise<BackendResponse> {
    const operationId = binding.operationId;
    if (closed) throw backendError('BACKEND_CONNECTION', operationId, { reason: 'the backend client is closed' });
    const built = buildRequest(target, binding, args);
    if (ctx.idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(ctx.idempotencyKey)) {
      throw backendError('INVALID_ARGUMENT', operationId, { argument: '(idempotency key)', reason: 'idempotency key must be 1-255 visible ASCII characters' });
    }
    const deadline = new Deadline(ctx.timeoutMs ?? defaultTimeoutMs, ctx.signal);
    try {
      const requests = binding.credentials.map((c): TokenRequest => {
        const req: TokenRequest = { scopes: c.scopes, operationId, scheme: c.scheme, kind: c.kind };
        if (ctx.caller) req.caller = ctx.caller;
        return req;
      });
      const fetchAll = () => Promise.all(requests.map((req) => getToken(req, deadline)));
      const values = await fetchAll();
      let { raw, attempts } = await send(binding, built, ctx, values, deadline, 0);
      if (raw.status === 401 && requests.length > 0) {
        // RFC 6750 §3.1 invalid_token: a cached token may have been revoked or rotated. Drop
        // them and try exactly once more if any came back different; a 401 did no work.
        requests.forEach((req, i) => opts.tokens.invalidate(req, values[i]));
        const fresh = await fetchAll();
        if (fresh.some((value, i) => value !== values[i])) {
          values.push(...fresh);
          ({ raw, attempts } = await send(binding, built, ctx, fresh, deadline, attempts));
        }
      }
      return interpret(binding, raw, attempts, values);
    } finally {
      deadline.clear();
    }
  }

  return {
    call,
    async close() {
      if (closed) return;
      closed = true;
      await pool.close();
    },
  };
}

function stopError(operationId: string, deadline: Deadline, attempts: number): BackendError {
  return deadline.reason === 'aborted'
    ? backendError('BACKEND_ABORTED', operationId, { attempts })
    : backendError('BACKEND_TIMEOUT', operationId, { attempts, reason: 'the call deadline passed' });
}

function parseJsonBody(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/** `secrets`: the credential values sent, kept out of whatever an error keeps of the body. */
function interpret(binding: OperationBinding, raw: RawResponse, attempts: number, secrets: readonly string[]): BackendResponse {
  const operationId = binding.operationId;
  const contentType = headerValue(raw.headers, 'content-type');
  const isJson = contentType !== undefined && JSON_TYPE.test(contentType);
  const success = binding.successStatuses.length > 0 ? binding.successStatuses.includes(raw.status) : raw.status >= 200 && raw.status < 300;

  if (!success) {
    const parsed = raw.body && raw.body.length > 0 && isJson ? parseJsonBody(raw.body) : { ok: false as const };
    throw errorFromResponse(operationId, raw.status, raw.headers, parsed.ok ? parsed.value : undefined, attempts, Date.now(), secrets);
  }

  const headers: BackendResponse['headers'] = {};
  const rateLimit = parseRateLimit(raw.headers);
  if (rateLimit) headers.rateLimit = rateLimit;
  if (contentType) headers.contentType = contentType;

  const empty = !raw.body || raw.body.length === 0;
  if (binding.method === 'HEAD' || raw.status === 204 || raw.status === 205 || empty) {
    return { status: raw.status, body: null, headers, attempts };
  }
  if (!isJson) {
    throw backendError('BACKEND_MALFORMED_RESPONSE', operationId, { status: raw.status, attempts, reason: 'the content type is not JSON' });
  }
  const parsed = parseJsonBody(raw.body!);
  if (!parsed.ok) throw backendError('BACKEND_MALFORMED_RESPONSE', operationId, { status: raw.status, attempts, reason: 'the body is not valid JSON' });
  return { status: raw.status, body: withoutEchoedSecrets(raw.body!, parsed.value, secrets), headers, attempts };
}

/**
 * A backend that echoes the credential it was sent (a "who am I" answer, a debug field) must not
 * hand it to the model: every string holding one gets it replaced. The byte search runs first,
 * so an ordinary answer is never walked.
 */
function withoutEchoedSecrets(raw: Buffer, value: unknown, secrets: readonly string[]): unknown {
  const present = secrets.filter((s) => s !== '' && (raw.includes(s) || raw.includes(JSON.stringify(s).slice(1, -1))));
  if (present.length === 0) return value;
  const scrub = (v: unknown): unknown => {
    if (typeof v === 'string') return present.reduce((text, secret) => text.split(secret).join('[REDACTED]'), v);
    if (Array.isArray(v)) return v.map(scrub);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [scrub(k) as string, scrub(x)]));
    return v;
  };
  return scrub(value);
}
