/**
 * The HTTP face of Deputy. Order matters and is fixed here:
 *   1. health endpoints (before the Host check: orchestrator probes address the pod or container
 *      IP, and the answers reveal nothing a rebinding page could use)
 *   2. Origin/Host guard (DNS rebinding) for everything else; Protected Resource Metadata,
 *      /metrics (public, no bearer token) and the approval page (its own sign-in, approvalPage.ts)
 *   3. bearer authentication for /mcp (or each manifest surface's path, with its own audience)
 *   4. the MCP endpoint (batch refusal, scope challenge, then per protocol era: 2025-era sessions
 *      or the stateless 2026-07-28 handler)
 */
import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import type { Server } from '@modelcontextprotocol/server';
import { bearerAuth } from './bearerAuth.ts';
import type { CallerVerifier } from './callerAuth.ts';
import type { ProtocolEra } from '@modelcontextprotocol/server';
import { mcpEndpoint } from './mcpEndpoint.ts';
import { metricsHandler, type MetricsRegistry } from './metrics.ts';
import { originGuard, type OriginPolicy } from './originGuard.ts';
import { protectedResourceMetadataUrl, protectedResourceRoutes } from './protectedResource.ts';
import type { Readiness } from './readiness.ts';
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
  /** The user a caller's sessions count for in the per-user session quota. */
  userOf: (caller: Caller) => string;
  /** The dependencies' state, cached (src/http/readiness.ts). */
  readiness: Readiness;
  /** The approval page's routes under /approvals (approvalPage.ts); null = not served. */
  approvalPage: Router | null;
  /** Prometheus exposition at /metrics; null = not served (404). */
  metrics: { registry: MetricsRegistry; token: string | null } | null;
}

export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const report = await options.readiness.report();
    res.status(report.status === 'not_ready' ? 503 : 200).json(report);
  });

  app.use(originGuard(options.origin));

  if (options.metrics) app.get('/metrics', metricsHandler(options.metrics.registry, options.metrics.token));
  if (options.approvalPage) app.use(options.approvalPage);

  const single = options.surfaces.length === 1 && options.surfaces[0]!.name === null;
  for (const surface of options.surfaces) {
    const path = new URL(surface.resource).pathname;
    const resourceMetadataUrl = protectedResourceMetadataUrl(surface.resource);
    app.use(
      protectedResourceRoutes({
        resource: surface.resource,
        authorizationServers: [options.authorizationServer],
        scopes: surface.scopes,
        resourceName: surface.name === null ? 'Deputy' : `Deputy: ${surface.title ?? surface.name}`,
        rootVariant: options.surfaces.length === 1,
      }),
    );
    const auth = bearerAuth({ verify: surface.verifyCaller, resourceMetadataUrl, resource: surface.resource });
    // The single /mcp guards everything under it, as it always has; a surface guards exactly its
    // path, so /mcp's guard cannot answer for /mcp/support with the wrong audience.
    if (single) app.use(path, auth);
    else app.all(path, auth);
    app.use(
      mcpEndpoint({
        path,
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
    );
  }

  const endpoints = options.surfaces.map((s) => new URL(s.resource).pathname).join(', ');
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', error_description: `No such endpoint; the MCP endpoint${options.surfaces.length === 1 ? ' is' : 's are'} ${endpoints}` });
  });
  // Body-parser and unexpected errors: a short JSON answer, never a stack trace.
  const onError: ErrorRequestHandler = (error: { status?: number; type?: string }, _req, res, _next) => {
    if (res.headersSent) return;
    if (error.type === 'entity.too.large') {
      res.status(413).json({ jsonrpc: '2.0', error: { code: -32600, message: 'Request body too large' }, id: null });
    } else if (error.type === 'entity.parse.failed') {
      res.status(400).json({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: the body is not valid JSON' }, id: null });
    } else {
      res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null });
    }
  };
  app.use(onError);
  return app;
}
