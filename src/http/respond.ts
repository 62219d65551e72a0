/**
 * Answers written straight to a `node:http` response, for the paths served without Express
 * (src/README.md D44). The same bytes Express's `res.status().json()` sent, less its ETag, which
 * means nothing on an answer to a POST or on an error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An answer decided before a request reaches its handler: a refusal by a guard. */
export interface Refusal {
  status: number;
  headers?: Record<string, string>;
  body: object;
}

/**
 * How long a connection stays open, after answering a request whose body was not read to its end,
 * for the client to take the answer before the close (src/README.md D48).
 */
export const LINGER_MS = 2_000;

export function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const head = { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) };
  if (bodyPending(res.req)) answerAndClose(res, status, head, text);
  else res.writeHead(status, head).end(text);
}

/**
 * Whether some of the request's body has yet to arrive. Not for a request without a body, which
 * Node hands over before it has marked it complete (an answer written at once, as a probe's is,
 * would otherwise close a connection a client keeps alive).
 */
function bodyPending(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * The answer to a request refused before its body arrived in full (src/README.md D48): written
 * whole at once, with `Connection: close`; the rest of the body is not read — what still arrives is
 * dropped undecoded, for at most LINGER_MS — and then Node closes the connection. Closing at once,
 * with the client's bytes unread, makes the kernel reset the connection, which can erase the
 * answer before the client reads it (RFC 9112 §9.6), and most clients read only once they have
 * sent their whole body.
 */
function answerAndClose(res: ServerResponse, status: number, head: Record<string, string>, text: string): void {
  const { req } = res;
  res.writeHead(status, { ...head, connection: 'close' }).write(text);
  const close = () => {
    clearTimeout(linger);
    req.removeListener('end', close).removeListener('close', close);
    res.end();
  };
  const linger = setTimeout(close, LINGER_MS).unref();
  req.once('end', close).once('close', close);
  req.resume();
}

export function sendRefusal(res: ServerResponse, refusal: Refusal): void {
  sendJson(res, refusal.status, refusal.body, refusal.headers);
}

export function jsonRpcError(res: ServerResponse, status: number, code: number, message: string, id: string | number | null = null, headers: Record<string, string> = {}): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id }, headers);
}
