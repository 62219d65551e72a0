/**
 * The request log tests read to see what reached the backend: one entry per request (control
 * endpoints under `/__mock/` excepted), written when the response is finished or the connection
 * ends without one. It holds who called (subject, client, scopes, token kind) but never a token.
 *
 * The per-request context travels from the express layer (faults) to the msw handlers (auth,
 * handler) through AsyncLocalStorage, so neither layer has to smuggle data in headers.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request as ExpressRequest, Response as ExpressResponse } from 'express';
import type { Principal } from './auth/principal.ts';

export interface RequestLogEntry {
  /** When the request arrived (ISO 8601). */
  time: string;
  /** The spec operation the request matched, or null (auth server endpoints, unmocked routes). */
  operationId: string | null;
  method: string;
  /** Path without the query string. */
  path: string;
  /** Query string without `?`, empty when none. */
  query: string;
  /** The status sent, or 0 when the connection ended without a response (reset, hang). */
  status: number;
  /** Null until a token checked out (missing/invalid tokens, faults, public endpoints). */
  subject: string | null;
  clientId: string | null;
  scopes: string[] | null;
  tokenKind: Principal['kind'] | null;
  /** Set for token-exchange tokens: who acted on behalf of `subject`. */
  actor?: string;
  /** Set when the token belongs to a tenant: a static key's `tenant`, or a JWT's `tenant` claim. */
  tenant?: string;
  idempotencyKey?: string;
  /** Set when the response replayed a stored idempotent response. */
  idempotentReplay?: true;
  /** Set when an injected fault answered (or delayed) the request. */
  fault?: string;
  durationMs: number;
}

/** What the layers of one request learn about it, gathered into its log entry. */
export interface RequestContext {
  startedAt: number;
  time: string;
  operationId: string | null;
  principal: Principal | null;
  idempotencyKey?: string;
  idempotentReplay?: true;
  fault?: string;
  logged: boolean;
  /** Writes the log entry now (once); for paths that end the connection themselves. */
  writeLog(status: number): void;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The context of the request being handled, if any (undefined outside a request). */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

export class RequestLog {
  private items: RequestLogEntry[] = [];

  constructor(private readonly maxEntries = 10_000) {}

  /** A copy of the entries, oldest first. */
  entries(): RequestLogEntry[] {
    return this.items.map((e) => ({ ...e }));
  }

  /** Entries for one operation, oldest first. */
  forOperation(operationId: string): RequestLogEntry[] {
    return this.entries().filter((e) => e.operationId === operationId);
  }

  clear(): void {
    this.items = [];
  }

  push(entry: RequestLogEntry): void {
    this.items.push(entry);
    if (this.items.length > this.maxEntries) this.items.splice(0, this.items.length - this.maxEntries);
  }

  /**
   * Express middleware: opens the request's context and writes its entry when the response
   * finishes (or the socket closes first, status 0).
   */
  middleware(now: () => number) {
    return (req: ExpressRequest, res: ExpressResponse, next: NextFunction): void => {
      const startedAt = now();
      const url = new URL(req.originalUrl, 'http://mock.invalid');
      const write = (status: number): void => {
        if (ctx.logged || url.pathname.startsWith('/__mock/')) return;
        ctx.logged = true;
        const p = ctx.principal;
        this.push({
          time: ctx.time,
          operationId: ctx.operationId,
          method: req.method,
          path: url.pathname,
          query: url.search.slice(1),
          status,
          subject: p?.subject ?? null,
          clientId: p?.clientId ?? null,
          scopes: p ? [...p.scopes] : null,
          tokenKind: p?.kind ?? null,
          ...(p?.actor ? { actor: p.actor.sub } : {}),
          ...(p?.tenant ? { tenant: p.tenant } : {}),
          ...(ctx.idempotencyKey !== undefined ? { idempotencyKey: ctx.idempotencyKey } : {}),
          ...(ctx.idempotentReplay ? { idempotentReplay: true as const } : {}),
          ...(ctx.fault !== undefined ? { fault: ctx.fault } : {}),
          durationMs: Math.max(0, now() - startedAt),
        });
      };
      const ctx: RequestContext = { startedAt, time: new Date(startedAt).toISOString(), operationId: null, principal: null, logged: false, writeLog: write };
      res.on('finish', () => write(res.statusCode));
      res.on('close', () => write(res.writableFinished ? res.statusCode : 0));
      storage.run(ctx, next);
    };
  }
}
