/**
 * The HTTP face of Deputy: one `node:http` request listener. Order matters and is fixed here:
 *   1. the MCP endpoints — `/mcp`, or each manifest surface's path — served on plain `node:http`,
 *      never through Express (src/README.md D44): Origin/Host guard (DNS rebinding), then bearer
 *      authentication with the surface's own audience, then the endpoint (mcpEndpoint.ts: body cap,
 *      batch refusal, scope challenge, then per protocol era: 2025-era sessions or the stateless
 *      2026-07-28 handler)
 *   2. health (`/healthz`, `/readyz`: before the guard, as orchestrator probes address the pod or
 *      container IP, and the answers reveal nothing a rebinding page could use)
 *   3. the guard, then Protected Resource Metadata and /metrics (public, no bearer token)
 *   4. the approval page under `/approvals` (its own sign-in, approvalPage.ts) through Express
 *      (expressApp.ts), loaded on the first such request
 *   5. a 404 that names the MCP endpoints
 */
import type { IncomingMessage, RequestListener, ServerOptions, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Server } from '@modelcontextprotocol/server';
import { bearerAuth, isRefusal, type BearerAuth } from './bearerAuth.ts';
import type { CallerVerifier } from './callerAuth.ts';
import type { ProtocolEra } from '@modelcontextprotocol/server';
import type { ApprovalPageOptions } from './approvalPage.ts';
import { expectsContinue } from './jsonBody.ts';
import { mcpEndpoint, type McpEndpoint } from './mcpEndpoint.ts';
import { metricsHandler, type MetricsRegistry } from './metrics.ts';
import { originGuard, type OriginPolicy } from './originGuard.ts';
import { protectedResourceDocument, protectedResourceMetadataUrl } from './protectedResource.ts';
import type { Readiness } from './readiness.ts';
import { jsonRpcError, sendJson, sendRefusal } from './respond.ts';
import type { SessionRegistry } from './sessions.ts';
import type { Caller } from '../tools/caller.ts';

/** One MCP endpoint: the single `/mcp`, or one manifest surface (src/README.md D42). */
export interface McpSurfaceOptions {
  /** The surface's name; null for the single `/mcp` of a manifest without surfaces. */
  name: string | null;
  /** The manifest's title for it, if any: its metadata's `resource_name`. */
  title?: string | null;
  /** The canonical URL of the endpoint (its path is where it is served), e.g. `http://127.0.0.1:3000/mcp/support`. */
  resource: string;
  scopes: readonly string[];
  /** Accepts only tokens whose audience is this surface's `resource`. */
  verifyCaller: CallerVerifier;
  newServer: (era: ProtocolEra) => Server;
  toolScopes: (name: string) => readonly string[] | undefined;
  /** Audits a tools/call refused before dispatch (insufficient scope). */
  onDenied: (tool: string, caller: Caller, sessionId: string | null) => void;
}

export interface AppOptions {
  /** At least one; one with `name: null` alone is the single `/mcp`. */
  surfaces: readonly McpSurfaceOptions[];
  authorizationServer: string;
  origin: OriginPolicy;
  mode: 'stateful' | 'stateless';
  /** One registry for every surface: a session is found only on the surface it was opened on. */
  sessions: SessionRegistry;
  maxBodyBytes: number;
  /** How long a request's body may take to arrive once its head has (DEPUTY_BODY_TIMEOUT_SECONDS, src/README.md D48). */
  bodyTimeoutMs: number;
  /** The user a caller's sessions count for in the per-user session quota. */
  userOf: (caller: Caller) => string;
  /** The dependencies' state, cached (src/http/readiness.ts). */
  readiness: Readiness;
  /** What the approval page's routes under /approvals are built from (approvalPage.ts); null = not served. */
  approvalPage: ApprovalPageOptions | null;
  /** Prometheus exposition at /metrics; null = not served (404). */
  metrics: { registry: MetricsRegistry; token: string | null } | null;
}

/** The longest a request's head may take to arrive (src/README.md D48). */
const HEADERS_TIMEOUT_MS = 10_000;

/**
 * The listener's own bounds on receiving a request (src/README.md D48), for `http.createServer`.
 * Node counts them only until a request has arrived in full, never while it is answered, so an SSE
 * stream or a tool call as long as its timeout is not cut. `requestTimeout` backs up the body
 * reader's deadline (jsonBody.ts) for what it does not read, such as the approval page's forms,
 * and comes after it: a request's head arrives within `headersTimeout`, and the reader's deadline
 * is `bodyTimeoutMs` after that. A request past it gets Node's bare 408 and the connection closes;
 * connections are checked every second, not Node's default 30 s. Keep-alive: 65 s, longer than
 * common load-balancer idle timeouts (60 s).
 */
export function listenerOptions(bodyTimeoutMs: number): ServerOptions {
  const headersTimeout = Math.min(HEADERS_TIMEOUT_MS, bodyTimeoutMs);
  return { headersTimeout, requestTimeout: headersTimeout + bodyTimeoutMs + 1_000, connectionsCheckingInterval: 1_000, keepAliveTimeout: 65_000 };
}

/**
 * How Express's router matched the endpoint's path: case-insensitive, one trailing slash allowed,
 * the query string ignored.
 */
function routeKey(url: string | undefined): string {
  const query = url?.indexOf('?') ?? -1;
  const path = (query === -1 ? (url ?? '') : url!.slice(0, query)).toLowerCase();
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

interface McpRoute {
  auth: BearerAuth;
  endpoint: McpEndpoint;
}

export function createApp(options: AppOptions): RequestListener {
  const guard = originGuard(options.origin);
  const routes = new Map<string, McpRoute>();
  for (const surface of options.surfaces) {
    const path = new URL(surface.resource).pathname;
    const resourceMetadataUrl = protectedResourceMetadataUrl(surface.resource);
    routes.set(routeKey(path), {
      // Audience = this surface's resource: a token for another surface is refused (401 invalid_token).
      auth: bearerAuth({ verify: surface.verifyCaller, resourceMetadataUrl, resource: surface.resource }),
      endpoint: mcpEndpoint({
        ...(surface.name !== null ? { surface: surface.name } : {}),
        mode: options.mode,
        sessions: options.sessions,
        newServer: surface.newServer,
        toolScopes: surface.toolScopes,
        onDenied: surface.onDenied,
        resourceMetadataUrl,
        maxBodyBytes: options.maxBodyBytes,
        userOf: options.userOf,
      }),
    });
  }

  async function serveMcp(route: McpRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Counted from the head's arrival, authentication included: the client sends its body meanwhile.
    const bodyDeadline = performance.now() + options.bodyTimeoutMs;
    const refusal = guard(req);
    if (refusal) return sendRefusal(res, refusal);
    const who = await route.auth(req);
    if (isRefusal(who)) return sendRefusal(res, who);
    await route.endpoint(req, res, who, bodyDeadline);
  }

  type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  // GET (and HEAD, which Node answers without the body) routes; the probes are answered before the guard.
  const probes = new Map<string, Handler>([
    ['/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' })],
    [
      '/readyz',
      async (_req, res) => {
        const report = await options.readiness.report();
        sendJson(res, report.status === 'not_ready' ? 503 : 200, report);
      },
    ],
  ]);
  const reads = new Map<string, Handler>();
  for (const surface of options.surfaces) {
    const { paths, document } = protectedResourceDocument({
      resource: surface.resource,
      authorizationServers: [options.authorizationServer],
      scopes: surface.scopes,
      resourceName: surface.name === null ? 'Deputy' : `Deputy: ${surface.title ?? surface.name}`,
      rootVariant: options.surfaces.length === 1,
    });
    for (const path of paths) reads.set(routeKey(path), (_req, res) => sendJson(res, 200, document, { 'cache-control': 'public, max-age=300' }));
  }
  if (options.metrics) reads.set('/metrics', metricsHandler(options.metrics.registry, options.metrics.token));

  const endpoints = options.surfaces.map((s) => new URL(s.resource).pathname).join(', ');
  const notFound = { error: 'not_found', error_description: `No such endpoint; the MCP endpoint${options.surfaces.length === 1 ? ' is' : 's are'} ${endpoints}` };
  // Express (~185 ms of CPU and ~16 MiB to import) is loaded only for the approval page.
  const approvalPage = options.approvalPage;
  let express: Promise<RequestListener> | null = null;
  const viaExpress = async (page: ApprovalPageOptions, req: IncomingMessage, res: ServerResponse) => {
    const app = await (express ??= import('./expressApp.ts').then(({ createExpressApp }) => createExpressApp(page, notFound)));
    app(req, res);
  };

  async function serveOther(key: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const read = req.method === 'GET' || req.method === 'HEAD';
    const probe = read ? probes.get(key) : undefined;
    if (probe) return probe(req, res);
    const refusal = guard(req);
    if (refusal) return sendRefusal(res, refusal);
    const handler = read ? reads.get(key) : undefined;
    if (handler) return handler(req, res);
    if (approvalPage && (key === '/approvals' || key.startsWith('/approvals/'))) return viaExpress(approvalPage, req, res);
    sendJson(res, 404, notFound);
  }

  return (req, res) => {
    const key = routeKey(req.url);
    const route = routes.get(key);
    // `Expect: 100-continue` comes here unanswered (serve.ts): an MCP endpoint asks for the body
    // only once its head has passed every check (src/README.md D48); anything else at once, as Node would.
    if (!route && expectsContinue(req)) res.writeContinue();
    (route ? serveMcp(route, req, res) : serveOther(key, req, res)).catch(() => {
      // An unexpected failure: a short JSON-RPC answer, never a stack trace (as Express's error handler gave).
      if (res.headersSent) res.destroy();
      else jsonRpcError(res, 500, -32603, 'Internal error');
    });
  };
}
