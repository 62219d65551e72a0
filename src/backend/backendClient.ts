/**
 * The backend client: one undici Pool per backend origin with composed interceptors, turning
 * (operation binding, tool arguments, call options) into one authenticated HTTP call and every
 * failure into one BackendError. It composes its parts: the call's deadline (deadline.ts), the
 * response collector (responseCollector.ts), the egress guard (egressGuard.ts) and the retry
 * rules (retryRules.ts).
 *
 * Dispatch chain, outermost first (pinned by a unit test):
 *   retry        undici's retry interceptor; each call passes its own retry policy (the retry
 *                rules) so only idempotent calls are retried, within the call's deadline
 *   egressGuard  refuses any dispatch that names another origin or a non-origin-relative path,
 *                on every attempt (defence in depth behind buildRequest's URL check)
 *   Pool         connect/headers/body timeouts
 *
 * Every answer's rate-limit fields are recorded per credential (backendLimits.ts), and each call
 * counts as in flight on its credential until it ends.
 *
 * Credentials are attached per call, not by an interceptor: fetching them is async, can fail
 * (BACKEND_TOKEN_UNAVAILABLE before any socket work) and the 401 → invalidate → one retry loop
 * needs the values that were rejected. Each goes where its security scheme says
 * (placeCredentials), after every header and query parameter the model controls.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher, interceptors, Pool } from 'undici';
import { backendError, BackendError, errorFromResponse } from './backendError.ts';
import { credentialKey, type BackendLimits } from './backendLimits.ts';
import { buildRequest, parseBaseUrl, type BackendTarget, type BuiltRequest } from './buildRequest.ts';
import { Deadline, stopError } from './deadline.ts';
import { egressGuard } from './egressGuard.ts';
import { errorCode, networkError } from './networkErrors.ts';
import { isSuccessStatus, type OperationBinding } from './operation.ts';
import { placeCredentials } from './placeCredentials.ts';
import { ResponseCollector, type RawResponse } from './responseCollector.ts';
import { headerValue, parseRateLimit, retryAfterSeconds, type RateLimitInfo } from './responseHeaders.ts';
import { isIdempotent, NEVER_RETRY, retryDelayMs, type RetryCallback, type RetryDecisionInput, type RetryOptions } from './retryRules.ts';
import type { CallerIdentity, TokenProvider, TokenRequest } from './tokenProvider.ts';

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
  /** Where the backend's rate-limit answers are recorded, per credential. */
  limits?: BackendLimits;
}

/** What one call brings besides the binding and the arguments. */
export interface BackendCallOptions {
  /** Total time of this call, retries and token fetch included. */
  timeoutMs?: number;
  maxResponseBytes?: number;
  /** Sent in the binding's idempotency header on writes; also makes a POST retryable. */
  idempotencyKey?: string;
  /** W3C trace context of the tool call; forwarded when well-formed. */
  traceparent?: string;
  /** The calling user, for the token exchange provider. Never sent to the backend. */
  caller?: CallerIdentity;
  /** The calling user's tenant (src/README.md D41): only its credentials are used. Absent with tenants off. */
  tenant?: string;
  /** A preview header the spec declares (`Prefer: dry-run`), asking the backend not to act. */
  previewHeader?: { name: string; value: string };
  signal?: AbortSignal;
}

/**
 * The request a call would send, as a dry run shows it (openapi/README.md, "Dry run"): built by
 * the same code as a real call, every credential value replaced by `[REDACTED]`.
 */
export interface DescribedRequest {
  method: OperationBinding['method'];
  /** The request path, base path included, without the query. */
  path: string;
  /** Query parameters, decoded, each with its values in order. */
  query: Record<string, string[]>;
  headers: Record<string, string>;
  /** The JSON body as a value, a form body as its fields, or null. */
  body: unknown;
}

/** What a described request shows in place of every credential value. */
export const REDACTED_CREDENTIAL = '[REDACTED]';

export interface BackendResponse {
  status: number;
  /** Parsed JSON, or null for 204/205, HEAD and empty bodies. */
  body: unknown;
  /** `preferenceApplied`: the RFC 7240 `Preference-Applied` header, when the backend sent one. */
  headers: { rateLimit?: RateLimitInfo; contentType?: string; preferenceApplied?: string };
  /** HTTP attempts made, retries included. */
  attempts: number;
}

export interface BackendClient {
  call(binding: OperationBinding, args: Readonly<Record<string, unknown>>, callOptions: BackendCallOptions): Promise<BackendResponse>;
  /** The request `call` would send, credentials redacted; sends nothing and fetches no token. */
  describe(binding: OperationBinding, args: Readonly<Record<string, unknown>>, callOptions: BackendCallOptions): DescribedRequest;
  close(): Promise<void>;
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * The dispatch chain, outermost first. Retry is outside the egress guard so every attempt is
 * checked again; the Pool (timeouts) is innermost.
 */
export const BACKEND_INTERCEPTORS = ['retry', 'egressGuard'] as const;

export function createBackendClient(opts: BackendClientOptions): BackendClient {
  const target: BackendTarget = parseBaseUrl(opts.baseUrl);
  // undici is loaded on the first call, not at start (src/README.md D45): importing it costs
  // ~190 ms of CPU and ~18 MiB, which a start would pay before anything needs the backend.
  let pool: Pool | undefined;
  let dispatcher: Dispatcher | undefined;
  let loading: Promise<void> | undefined;
  const connect = (): Promise<void> =>
    (loading ??= import('undici').then((undici) => {
      pool = new undici.Pool(target.origin, {
        connect: { timeout: opts.connectTimeoutMs },
        headersTimeout: opts.headersTimeoutMs,
        bodyTimeout: opts.bodyTimeoutMs,
        connections: opts.connections ?? 64,
        pipelining: 1,
      });
      const available: Record<(typeof BACKEND_INTERCEPTORS)[number], Dispatcher.DispatcherComposeInterceptor> = {
        retry: undici.interceptors.retry({ throwOnError: false, retry: NEVER_RETRY }),
        egressGuard: egressGuard(target.origin),
      };
      // compose() wraps in array order, so the last one is outermost: reverse the outermost-first list.
      dispatcher = pool.compose([...BACKEND_INTERCEPTORS].reverse().map((name) => available[name]));
    }));
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
    callOptions: BackendCallOptions,
    credentials: readonly string[],
    deadline: Deadline,
    attemptsBefore: number,
  ): Promise<{ raw: RawResponse; attempts: number }> {
    const operationId = binding.operationId;
    const idempotent = isIdempotent(binding, callOptions.idempotencyKey);
    const isSuccess = (status: number) => isSuccessStatus(binding, status);
    let retries = 0;
    const attempts = () => attemptsBefore + retries + 1;
    const collector = new ResponseCollector(operationId, callOptions.maxResponseBytes ?? opts.maxResponseBytes, isSuccess, attempts);

    const placed = placeCredentials(operationId, built.path, binding.credentials, credentials);
    const headers = requestHeaders(binding, built, callOptions, userAgent, placed.headers);

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
    const removeOnStop = deadline.onStop(onStop);
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
        dispatcher!.dispatch(dispatchOpts, collector);
      } catch (err) {
        collector.fail(networkError(operationId, err, attempts()));
      }
    }
    return collector.promise.then(
      (raw) => {
        removeOnStop();
        return { raw, attempts: attempts() };
      },
      (err: unknown) => {
        removeOnStop();
        throw err;
      },
    );
  }

  /** The request, refusing an idempotency key that could not be sent as a header value. */
  function buildChecked(binding: OperationBinding, args: Readonly<Record<string, unknown>>, callOptions: BackendCallOptions): BuiltRequest {
    const built = buildRequest(target, binding, args);
    if (callOptions.idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(callOptions.idempotencyKey)) {
      throw backendError('INVALID_ARGUMENT', binding.operationId, { argument: '(idempotency key)', reason: 'idempotency key must be 1-255 visible ASCII characters' });
    }
    return built;
  }

  function describe(binding: OperationBinding, args: Readonly<Record<string, unknown>>, callOptions: BackendCallOptions): DescribedRequest {
    const built = buildChecked(binding, args, callOptions);
    const placed = placeCredentials(binding.operationId, built.path, binding.credentials, binding.credentials.map(() => REDACTED_CREDENTIAL));
    const url = new URL(placed.path, target.origin);
    let body: unknown = null;
    if (built.body !== null) body = built.contentType === 'application/json' ? (JSON.parse(built.body) as unknown) : grouped(new URLSearchParams(built.body));
    return { method: built.method, path: url.pathname, query: grouped(url.searchParams), headers: requestHeaders(binding, built, callOptions, userAgent, placed.headers), body };
  }

  async function call(binding: OperationBinding, args: Readonly<Record<string, unknown>>, callOptions: BackendCallOptions): Promise<BackendResponse> {
    const operationId = binding.operationId;
    if (closed) throw backendError('BACKEND_CONNECTION', operationId, { reason: 'the backend client is closed' });
    const built = buildChecked(binding, args, callOptions);
    const deadline = new Deadline(callOptions.timeoutMs ?? defaultTimeoutMs, callOptions.signal);
    const credential = credentialKey(binding, callOptions.tenant);
    const ended = opts.limits?.started(credential);
    try {
      const requests = binding.credentials.map((c): TokenRequest => {
        const req: TokenRequest = { scopes: c.scopes, operationId, scheme: c.scheme, kind: c.kind };
        if (callOptions.caller) req.caller = callOptions.caller;
        if (callOptions.tenant !== undefined) req.tenant = callOptions.tenant;
        return req;
      });
      const fetchAll = () => Promise.all(requests.map((req) => getToken(req, deadline)));
      const values = await fetchAll();
      if (!dispatcher) await connect();
      let { raw, attempts } = await send(binding, built, callOptions, values, deadline, 0);
      if (raw.status === 401 && requests.length > 0) {
        // RFC 6750 §3.1 invalid_token: a cached token may have been revoked or rotated. Drop
        // them and try exactly once more if any came back different; a 401 did no work.
        requests.forEach((req, i) => opts.tokens.invalidate(req, values[i]));
        const fresh = await fetchAll();
        if (fresh.some((value, i) => value !== values[i])) {
          values.push(...fresh);
          ({ raw, attempts } = await send(binding, built, callOptions, fresh, deadline, attempts));
        }
      }
      opts.limits?.observe(credential, parseRateLimit(raw.headers), raw.status === 429 ? retryAfterSeconds(raw.headers) : undefined);
      return interpret(binding, raw, attempts, values);
    } finally {
      ended?.();
      deadline.clear();
    }
  }

  return {
    call,
    describe,
    async close() {
      if (closed) return;
      closed = true;
      await loading?.catch(() => undefined);
      await pool?.close();
    },
  };
}

/**
 * The headers of one request, credentials last so nothing else may overwrite one: what a call
 * dispatches and what a dry run shows (with redacted credentials).
 */
function requestHeaders(binding: OperationBinding, built: BuiltRequest, callOptions: BackendCallOptions, userAgent: string, credentialHeaders: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {
    ...built.headers,
    accept: 'application/json, application/problem+json;q=0.9',
    'user-agent': userAgent,
  };
  if (callOptions.previewHeader) headers[callOptions.previewHeader.name.toLowerCase()] = callOptions.previewHeader.value;
  if (built.contentType) headers['content-type'] = built.contentType;
  if (callOptions.traceparent && TRACEPARENT.test(callOptions.traceparent)) headers.traceparent = callOptions.traceparent;
  if (binding.idempotencyKeyHeader && callOptions.idempotencyKey !== undefined) headers[binding.idempotencyKeyHeader.toLowerCase()] = callOptions.idempotencyKey;
  return Object.assign(headers, credentialHeaders);
}

/** Query or form fields, each name with its values in order. */
function grouped(params: URLSearchParams): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of params) (out[name] ??= []).push(value);
  return out;
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
  const success = isSuccessStatus(binding, raw.status);

  if (!success) {
    const parsed = raw.body && raw.body.length > 0 && isJson ? parseJsonBody(raw.body) : { ok: false as const };
    throw errorFromResponse(operationId, raw.status, raw.headers, parsed.ok ? parsed.value : undefined, attempts, Date.now(), secrets);
  }

  const headers: BackendResponse['headers'] = {};
  const rateLimit = parseRateLimit(raw.headers);
  if (rateLimit) headers.rateLimit = rateLimit;
  if (contentType) headers.contentType = contentType;
  const preferenceApplied = headerValue(raw.headers, 'preference-applied');
  if (preferenceApplied !== undefined) headers.preferenceApplied = preferenceApplied;

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
