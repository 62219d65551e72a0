/**
 * The express app that serves the msw handlers on a real socket (@mswjs/http-middleware; msw
 * cannot see undici calls in-process). Layers, outermost first:
 *
 *   request log context → loopback guard for /__mock/ → faults → msw handlers
 *   (control, auth server, API operations, catch-all 501) → 501 fallback → error handler
 */
import { createMiddleware } from '@mswjs/http-middleware';
import express, { type NextFunction, type Request as ExpressRequest, type Response as ExpressResponse } from 'express';
import type { RequestHandler } from 'msw';
import type { FaultInjector } from './faults.ts';
import { unmockedRoute } from './handlers/catchAll.ts';
import { CONTROL_PREFIX } from './handlers/control.ts';
import { problem, PROBLEM_CONTENT_TYPE } from './reply.ts';
import type { RequestLog } from './requestLog.ts';

export interface AppDeps {
  requestLog: RequestLog;
  faults: FaultInjector;
  /** All msw handlers in order; the last should be the catch-all. */
  handlers: RequestHandler[];
  now: () => number;
}

const isLoopback = (address: string | undefined): boolean =>
  address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(deps.requestLog.middleware(deps.now));
  app.use(CONTROL_PREFIX, (req: ExpressRequest, res: ExpressResponse, next: NextFunction) => {
    if (isLoopback(req.socket.remoteAddress)) return next();
    const reply = problem(403, 'loopback-only', 'the /__mock/ control endpoints answer loopback clients only');
    res.status(403).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(reply.body));
  });
  app.use(deps.faults.middleware());
  // http-middleware's typings resolve msw's CommonJS declarations, ours the ESM ones: same classes.
  app.use(createMiddleware(...(deps.handlers as unknown as Parameters<typeof createMiddleware>)));
  // msw passes a request through when it carries `accept: msw/passthrough`; still no route.
  app.use((req: ExpressRequest, res: ExpressResponse) => {
    void sendFetchResponse(res, unmockedRoute(req.method, new URL(req.originalUrl, 'http://mock.invalid').pathname));
  });
  app.use((err: unknown, _req: ExpressRequest, res: ExpressResponse, _next: NextFunction) => {
    console.error('mock-backend: unhandled error:', err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const reply = problem(500, 'internal-error', 'the mock backend failed to handle this request');
    res.status(500).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(reply.body));
  });
  return app;
}

async function sendFetchResponse(res: ExpressResponse, response: Response): Promise<void> {
  res.status(response.status);
  response.headers.forEach((value, name) => res.setHeader(name, value));
  res.send(Buffer.from(await response.arrayBuffer()));
}
