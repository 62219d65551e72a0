/**
 * The approval page on Express: its routes, cookies and forms are what Express earns its keep on.
 * app.ts loads this module on the first request under `/approvals`, after its Origin/Host guard
 * (src/README.md D44); every other path is answered there without Express.
 */
import express, { type ErrorRequestHandler, type Express } from 'express';
import { approvalPageRoutes, type ApprovalPageOptions } from './approvalPage.ts';

export function createExpressApp(approvalPage: ApprovalPageOptions, notFound: object): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(approvalPageRoutes(approvalPage));
  app.use((_req, res) => {
    res.status(404).json(notFound);
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
