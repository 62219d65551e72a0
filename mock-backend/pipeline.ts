/**
 * Turns the spec's operations plus one resolver per operation into msw request handlers, each
 * wrapped in the same cross-cutting steps. Every API request goes through these steps in this
 * order; the first step that answers wins:
 *
 *   1. faults       an armed fault for the operation (express layer, faults.ts)
 *   2. auth         no token → 401 `Bearer realm=…` (RFC 6750 §3.1: no error code);
 *                   bad/expired/unknown token → 401 with `error="invalid_token"`
 *   3. scopes       token lacks a scope of the operation's `security` → 403 ScopeProblem
 *                   (`missingScopes`) + `WWW-Authenticate: Bearer error="insufficient_scope"`
 *   4. rate limit   per token; over the limit → 429 + `Retry-After`
 *   5. validation   path, query (coerced from strings), headers, JSON body → 400 ValidationProblem
 *   6. idempotency  POST with `Idempotency-Key`: replay, or 422 on a different request
 *   7. handler      the operation's resolver (handlers/*.ts); its reply is checked against the
 *                   spec before it is sent (a drift is a loud 500, never a silent lie)
 *   8. request log  one entry when the response ends (requestLog.ts)
 *
 * `RateLimit-*` headers go on every response to an authenticated request (from step 3 on).
 */
import { http, type RequestHandler } from 'msw';
import type { OperationId, PathParams, QueryParams, RequestBody, SuccessReply } from './apiTypes.ts';
import type { Principal, VerifyResult } from './auth/principal.ts';
import type { IdempotencyStore } from './idempotency.ts';
import { rateLimitHeaders, type RateLimiter } from './rateLimit.ts';
import { problem, toResponse, type ProblemReply, type Reply } from './reply.ts';
import { currentRequest } from './requestLog.ts';
import type { ApiSpec, FieldError, OperationSpec } from './spec.ts';
import type { MockStore } from './store.ts';

export const REALM = 'acme-press-admin';
/** Request bodies above this are refused (413) before they are parsed. */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

/** What a resolver gets: the request as validated against operation `Id`'s spec, typed from it. */
export interface OperationContext<Id extends OperationId = OperationId> {
  store: MockStore;
  /** The verified caller; null only for operations the spec marks public. */
  principal: Principal | null;
  /** Validated path parameters. */
  params: PathParams<Id>;
  /** Validated query parameters, coerced to their types, with defaults applied. */
  query: QueryParams<Id>;
  /** The validated JSON body with defaults applied, or undefined. */
  body: RequestBody<Id>;
  /** The server clock when the handler started. */
  now: Date;
  /**
   * The request asked `Prefer: dry-run` (RFC 7240) of an operation that declares it: the handler
   * checks everything, changes nothing and answers with `Preference-Applied: dry-run`.
   */
  dryRun: boolean;
}

/** What a resolver may answer: a success the spec declares for its operation, with that body type, or a problem. */
export type OperationReply<Id extends OperationId> = SuccessReply<Id> | ProblemReply;
export type OperationResolver<Id extends OperationId = OperationId> = (ctx: OperationContext<Id>) => OperationReply<Id> | Promise<OperationReply<Id>>;
/** Resolvers by operationId, each typed for its own operation. */
export type OperationResolvers = { readonly [Id in OperationId]?: OperationResolver<Id> };

/** The resolver of whichever operation a request is for, once the handler is chosen at run time. */
type AnyResolver = OperationResolver<OperationId>;

export interface PipelineDeps {
  spec: ApiSpec;
  store: MockStore;
  verifyToken(token: string): Promise<VerifyResult>;
  rateLimiter: RateLimiter;
  idempotency: IdempotencyStore;
  now: () => number;
  /** Check every handler reply against the spec (default true). */
  validateResponses: boolean;
}

/** One msw handler per spec operation that has a resolver; the method and path come from the spec. */
export function operationHandlers(deps: PipelineDeps, resolvers: OperationResolvers): RequestHandler[] {
  for (const operationId of Object.keys(resolvers)) deps.spec.getOperation(operationId); // throws on a stray resolver
  return deps.spec.operations.flatMap((op) => {
    // Step 5 validates each request against this operation's schemas, which the types come from.
    const resolver = resolvers[op.operationId as OperationId] as AnyResolver | undefined;
    if (!resolver) return [];
    const path = op.path.replace(/\{([^}]+)\}/g, ':$1');
    return [http[op.method as 'get'](path, ({ request }) => runPipeline(deps, op, resolver, request))];
  });
}

function bearerChallenge(params: Record<string, string>): string {
  const quoted = Object.entries({ realm: REALM, ...params }).map(([k, v]) => `${k}="${v.replace(/["\\]/g, '\\$&')}"`);
  return `Bearer ${quoted.join(', ')}`;
}

async function runPipeline(deps: PipelineDeps, op: OperationSpec, resolver: AnyResolver, request: Request): Promise<Response> {
  const ctx = currentRequest();
  if (ctx) ctx.operationId = op.operationId;
  const url = new URL(request.url);

  // 2. auth
  let principal: Principal | null = null;
  let limitHeaders: Record<string, string> = {};
  if (op.requiredScopes !== null) {
    const authorization = request.headers.get('authorization');
    if (authorization === null) {
      return toResponse(problem(401, 'unauthorized', 'this operation needs a bearer token'), { 'WWW-Authenticate': bearerChallenge({}) });
    }
    const match = /^Bearer +([^\s]+) *$/i.exec(authorization);
    const verified: VerifyResult = match ? await deps.verifyToken(match[1]!) : { ok: false, error: 'invalid_token', description: "the Authorization header must be 'Bearer <token>'" };
    if (!verified.ok) {
      return toResponse(problem(401, 'invalid-token', verified.description), {
        'WWW-Authenticate': bearerChallenge({ error: verified.error, error_description: verified.description }),
      });
    }
    principal = verified.principal;
    if (ctx) ctx.principal = principal;

    // 3. scopes
    const missing = op.requiredScopes.filter((s) => !principal!.scopes.includes(s));
    if (missing.length > 0) {
      const detail = `${op.operationId} needs the scope ${missing.join(' ')}; the token has ${principal.scopes.join(' ') || 'no scopes'}`;
      return toResponse(problem(403, 'insufficient-scope', detail, { missingScopes: missing }), {
        ...rateLimitHeaders(deps.rateLimiter.peek(principal.tokenId)),
        'WWW-Authenticate': bearerChallenge({ error: 'insufficient_scope', error_description: `missing scope ${missing.join(' ')}`, scope: op.requiredScopes.join(' ') }),
      });
    }

    // 4. rate limit
    const limit = deps.rateLimiter.consume(principal.tokenId);
    limitHeaders = rateLimitHeaders(limit);
    if (!limit.allowed) {
      const detail = `this token may make ${limit.limit} requests per ${deps.rateLimiter.config.windowSeconds} s; retry in ${limit.resetSeconds} s`;
      return toResponse(problem(429, 'rate-limited', detail), { ...limitHeaders, 'Retry-After': String(limit.resetSeconds) });
    }
  }

  // 5. validation
  const body = await readJsonBody(request);
  if ('reply' in body) return toResponse(body.reply, limitHeaders);
  const validation = deps.spec.validateRequest(op.operationId, {
    params: deps.spec.matchOperation(request.method, url.pathname)?.params ?? {},
    query: url.searchParams,
    headers: request.headers,
    body: body.value === undefined ? undefined : structuredClone(body.value),
  });
  if (!validation.ok) return toResponse(validationProblem(validation.errors), limitHeaders);
  const valid = validation.value;
  const dryRun = op.parameters.some((p) => p.in === 'header' && p.name.toLowerCase() === 'prefer') && /(?:^|,)\s*dry-run\s*(?:[;,]|$)/i.test(request.headers.get('prefer') ?? '');

  const run = async (): Promise<Reply> => {
    try {
      const reply = await resolver({
        store: deps.store,
        principal,
        params: valid.params as PathParams<OperationId>,
        query: valid.query,
        body: valid.body as RequestBody<OperationId>,
        now: new Date(deps.now()),
        dryRun,
      });
      return deps.validateResponses ? checkReply(deps.spec, op, reply) : reply;
    } catch (err) {
      // The mock's own bug: say so without a stack trace; the trace goes to stderr for its developer.
      console.error(`mock-backend: ${op.operationId} handler failed:`, err);
      return problem(500, 'internal-error', `the mock backend's ${op.operationId} handler failed`);
    }
  };

  // 6. idempotency (a dry run is never stored: replayed to the real request, it would stand in for it)
  const key = op.idempotent && !dryRun ? request.headers.get('idempotency-key') : null;
  if (key !== null && principal) {
    if (ctx) ctx.idempotencyKey = key;
    const outcome = deps.idempotency.begin({ subject: principal.subject, operationId: op.operationId, key }, { method: request.method, path: url.pathname, body: body.value });
    if (outcome.kind === 'mismatch') {
      return toResponse(problem(422, 'idempotency-key-reused', `Idempotency-Key ${key} was already used for a different ${op.operationId} request`), limitHeaders);
    }
    if (outcome.kind === 'replay') {
      if (ctx) ctx.idempotentReplay = true;
      return toResponse(await outcome.reply, { ...limitHeaders, 'Idempotent-Replayed': 'true' });
    }
    const reply = await run();
    outcome.complete(reply);
    return toResponse(reply, limitHeaders);
  }

  // 7. handler
  return toResponse(await run(), limitHeaders);
}

function validationProblem(errors: FieldError[]): Reply {
  const fields = errors.map((e) => e.field).join(', ');
  return problem(400, 'validation', `the request is invalid: ${fields}`, { errors });
}

/** Reads the body as JSON: `{ value }` (undefined when empty) or a ready 4xx reply. */
async function readJsonBody(request: Request): Promise<{ value: unknown } | { reply: Reply }> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_REQUEST_BODY_BYTES) return { reply: problem(413, 'body-too-large', `request bodies are limited to ${MAX_REQUEST_BODY_BYTES} bytes`) };
  const text = request.body ? await request.text() : '';
  if (text.length === 0) return { value: undefined };
  if (Buffer.byteLength(text) > MAX_REQUEST_BODY_BYTES) return { reply: problem(413, 'body-too-large', `request bodies are limited to ${MAX_REQUEST_BODY_BYTES} bytes`) };
  const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json' && !type?.endsWith('+json')) {
    return { reply: validationProblem([{ field: 'header.Content-Type', message: 'must be application/json' }]) };
  }
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return { reply: validationProblem([{ field: 'body', message: 'is not valid JSON' }]) };
  }
}

/** The mock answers only what the contract allows; anything else is the mock's bug, made loud. */
function checkReply(spec: ApiSpec, op: OperationSpec, reply: Reply): Reply {
  const result = spec.validateResponse(op.operationId, {
    status: reply.status,
    contentType: reply.body === undefined ? null : (reply.contentType ?? 'application/json'),
    body: reply.body,
  });
  if (result.ok) return reply;
  console.error(`mock-backend: ${op.operationId} reply violates the spec: ${result.errors.join('; ')}`);
  return problem(500, 'contract-violation', `the mock backend's ${op.operationId} reply violates openapi/admin-api.yaml: ${result.errors.slice(0, 3).join('; ')}`);
}
