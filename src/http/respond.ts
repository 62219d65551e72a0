/**
 * Answers written straight to a `node:http` response, for the paths served without Express
 * (src/README.md D44). The same bytes Express's `res.status().json()` sent, less its ETag, which
 * means nothing on an answer to a POST or on an error.
 */
import type { ServerResponse } from 'node:http';

/** An answer decided before a request reaches its handler: a refusal by a guard. */
export interface Refusal {
  status: number;
  headers?: Record<string, string>;
  body: object;
}

export function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) }).end(text);
}

export function sendRefusal(res: ServerResponse, refusal: Refusal): void {
  sendJson(res, refusal.status, refusal.body, refusal.headers);
}

export function jsonRpcError(res: ServerResponse, status: number, code: number, message: string, id: string | number | null = null, headers: Record<string, string> = {}): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id }, headers);
}
