/**
 * Faults on demand, per operation, without a restart: the first step of every API request (see
 * the order in pipeline.ts). They live in an express middleware in front of msw because two of
 * them need the socket itself: `reset` sends a TCP RST (msw's `HttpResponse.error()` only becomes
 * a 500 through @mswjs/http-middleware, which sets `res.statusCode = 0` and fails), and `hang`
 * must notice when the client gives up.
 *
 *   delay      wait `ms`, then handle the request normally
 *   hang       never answer, until the client gives up, the fault is cleared (then the request is
 *              handled normally) or the server closes
 *   reset      destroy the connection with a TCP reset, no response
 *   status     answer 500/502/503/504 problem+json (503 with `Retry-After: 1`)
 *   malformed  answer 200 `application/json` with a truncated JSON body
 *   oversized  answer 200 with valid JSON of `bytes` bytes (default 6 MiB)
 *   body       answer `status` (default 200) `application/json` with the given JSON, unchecked: an answer that
 *              breaks the spec (a list where an object is declared, a wrong type, an off-spec
 *              date or enum value), as real backends sometimes send
 *
 * `count` applies a fault to that many requests, then clears it.
 */
import { AsyncResource } from 'node:async_hooks';
import type { NextFunction, Request as ExpressRequest, Response as ExpressResponse } from 'express';
import { z } from 'zod';
import { PROBLEM_CONTENT_TYPE, problem } from './reply.ts';
import { currentRequest } from './requestLog.ts';
import type { ApiSpec } from './spec.ts';

const count = z.number().int().min(1).optional();
export const faultSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('delay'), ms: z.number().int().min(0).max(600_000), count }),
  z.strictObject({ kind: z.literal('hang'), count }),
  z.strictObject({ kind: z.literal('reset'), count }),
  z.strictObject({ kind: z.literal('status'), status: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]), count }),
  z.strictObject({ kind: z.literal('malformed'), count }),
  z.strictObject({ kind: z.literal('oversized'), bytes: z.number().int().min(1024).max(100 * 1024 * 1024).optional(), count }),
  z.strictObject({ kind: z.literal('body'), body: z.json(), status: z.number().int().min(200).max(299).optional(), count }),
]);
export type Fault = z.infer<typeof faultSchema>;
export type FaultKind = Fault['kind'];

export const DEFAULT_OVERSIZED_BYTES = 6 * 1024 * 1024;

interface HungRequest {
  operationId: string;
  release(): void;
}

export class FaultInjector {
  private faults = new Map<string, Fault>();
  private hung = new Set<HungRequest>();
  private oversizedBodies = new Map<number, Buffer>();

  constructor(private readonly spec: ApiSpec) {}

  /** Arms a fault for every request to `operationId` (or the next `count` ones). */
  set(operationId: string, fault: Fault): void {
    this.spec.getOperation(operationId); // throws on an unknown operationId
    this.faults.set(operationId, faultSchema.parse(fault));
  }

  /** Clears one operation's fault, or all of them; hung requests of those operations go on normally. */
  clear(operationId?: string): void {
    if (operationId === undefined) this.faults.clear();
    else this.faults.delete(operationId);
    for (const h of [...this.hung]) if (operationId === undefined || h.operationId === operationId) h.release();
  }

  /** The armed faults by operationId; `count` is what is left. */
  list(): Record<string, Fault> {
    return Object.fromEntries([...this.faults].map(([id, f]) => [id, { ...f }]));
  }

  /** Requests currently held by a `hang` fault. */
  get hungRequests(): number {
    return this.hung.size;
  }

  private take(operationId: string): Fault | undefined {
    const fault = this.faults.get(operationId);
    if (!fault) return undefined;
    if (fault.count !== undefined) {
      if (fault.count <= 1) this.faults.delete(operationId);
      else this.faults.set(operationId, { ...fault, count: fault.count - 1 });
    }
    return fault;
  }

  /** Express middleware; runs before auth, so a fault hits any caller, with or without a token. */
  middleware() {
    return (req: ExpressRequest, res: ExpressResponse, next: NextFunction): void => {
      const pathname = new URL(req.originalUrl, 'http://mock.invalid').pathname;
      const match = this.spec.matchOperation(req.method, pathname);
      if (!match) return next();
      const operationId = match.operation.operationId;
      const ctx = currentRequest();
      if (ctx) ctx.operationId = operationId;
      const fault = this.take(operationId);
      if (!fault) return next();
      if (ctx) ctx.fault = fault.kind;

      switch (fault.kind) {
        case 'delay': {
          const timer = setTimeout(next, fault.ms);
          res.on('close', () => clearTimeout(timer));
          return;
        }
        case 'hang': {
          // Released from another request's context (a control call), so keep this one's.
          const resume = AsyncResource.bind(() => next());
          const entry: HungRequest = {
            operationId,
            release: () => {
              if (this.hung.delete(entry)) resume();
            },
          };
          this.hung.add(entry);
          res.on('close', () => this.hung.delete(entry));
          return;
        }
        case 'reset':
          ctx?.writeLog(0);
          req.socket.resetAndDestroy();
          return;
        case 'status': {
          const reply = problem(fault.status, 'injected-fault', `injected fault: status ${fault.status} for ${operationId}`);
          res.writeHead(fault.status, { 'Content-Type': PROBLEM_CONTENT_TYPE, ...(fault.status === 503 ? { 'Retry-After': '1' } : {}) });
          res.end(JSON.stringify(reply.body));
          return;
        }
        case 'malformed': {
          const body = '{"items":[{"filename":"q3-pricing-update.md","title":"Q3 pri';
          res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
          res.end(body);
          return;
        }
        case 'body': {
          const body = JSON.stringify(fault.body);
          res.writeHead(fault.status ?? 200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
          res.end(body);
          return;
        }
        case 'oversized': {
          const body = this.oversizedBody(fault.bytes ?? DEFAULT_OVERSIZED_BYTES);
          res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
          res.end(body);
          return;
        }
      }
    };
  }

  /** Valid JSON of exactly `bytes` bytes, shaped like a list page; built once per size. */
  private oversizedBody(bytes: number): Buffer {
    let body = this.oversizedBodies.get(bytes);
    if (!body) {
      const head = '{"items":[';
      const tail = '],"nextCursor":null}';
      const item = `{"filler":"${'x'.repeat(1000)}"}`;
      const parts: string[] = [];
      let size = head.length + tail.length;
      while (size + item.length + 1 <= bytes - 16) {
        parts.push(item);
        size += item.length + 1;
      }
      // `size` already counts a separator after each item, which is the one before this last item.
      const pad = Math.max(0, bytes - size - '{"filler":""}'.length);
      parts.push(`{"filler":"${'x'.repeat(pad)}"}`);
      body = Buffer.from(head + parts.join(',') + tail);
      this.oversizedBodies.clear();
      this.oversizedBodies.set(bytes, body);
    }
    return body;
  }
}
