/**
 * Everything but the MCP endpoints, on Express (app.ts loads this module on the first request
 * that is not for an MCP endpoint; src/README.md D44). Order matters and is fixed here:
 *   1. health endpoints (before the Host check: orchestrator probes address the pod or container
 *      IP, and the answers reveal nothing a rebinding page could use)
 *   2. Origin/Host guard (DNS rebinding) for everything else; then /metrics (public, no bearer
 *      token), the approval page (its own sign-in, approvalPage.ts) and Protected Resource Metadata
 *   3. a 404 that names the MCP endpoints
 */
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { AppOptions } from './app.ts';
import { approvalPageRoutes } from './approvalPage.ts';
import { metricsHandler } from './metrics.ts';
import { originGuard } from './originGuard.ts';
import { protectedResourceRoutes } from './protectedResource.ts';

export function createExpressApp(options: AppOptions): Express {
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

  const guard = originGuard(options.origin);
  app.use((req, res, next) => {
    const refusal = guard(req);
    if (refusal) res.status(refusal.status).json(refusal.body);
    else next();
  });

  if (options.metrics) app.get('/metrics', metricsHandler(options.metrics.registry, options.metrics.token));
  if (options.approvalPage) app.use(approvalPageRoutes(options.approvalPage));

  for (const surface of options.surfaces) {
    app.use(
      protectedResourceRoutes(express.Router(), {
        resource: surface.resource,
        authorizationServers: [options.authorizationServer],
        scopes: surface.scopes,
        resourceName: surface.name === null ? 'Deputy' : `Deputy: ${surface.title ?? surface.name}`,
        rootVariant: options.surfaces.length === 1,
      }),
    );
  }

  const endpoints = options.surfaces.map((s) => new URL(s.resource).pathname).join(', ');
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', error_description: `No such endpoint; the MCP endpoint${options.surfaces.length === 1 ? ' is' : 's are'} ${endpoints}` });
  });
  // Body-parser (the approval page's forms) and unexpected errors: a short JSON answer, never a stack trace.
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
