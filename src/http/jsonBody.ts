/**
 * Reads an MCP request's body as JSON without Express (src/README.md D44), the way the
 * `express.json({ type: () => true })` it replaces did — the same cap, the same answers:
 *
 * - no body at all (neither Content-Length nor Transfer-Encoding) → `undefined`; an empty one → `{}`
 * - more than `limit` bytes, counted after decompression (gzip, deflate, br) → 413, before
 *   anything is parsed; Content-Length alone is enough to refuse
 * - not a JSON object or array, or not JSON at all → 400 parse error (strict, as body-parser's)
 *
 * The rest of the request is read off before a refusal is answered, so the client can finish
 * sending and the connection stays usable. Unlike body-parser, a charset other than UTF-8 (RFC 8259
 * §8.1: JSON between systems is UTF-8) or an unknown Content-Encoding is answered 415, not 500.
 */
import type { IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable, Transform } from 'node:stream';

export type JsonBody =
  | { ok: true; body: unknown }
  /** A refusal to answer as a JSON-RPC error; `status` null when the client went away and nothing can be answered. */
  | { ok: false; status: number | null; code: number; message: string };

const TOO_LARGE = { ok: false, status: 413, code: -32600, message: 'Request body too large' } as const;
const PARSE_ERROR = { ok: false, status: 400, code: -32700, message: 'Parse error: the body is not valid JSON' } as const;
const GONE = { ok: false, status: null, code: -32600, message: 'The request ended early' } as const;

const DECODERS = new Map<string, () => Transform>([
  ['gzip', createGunzip],
  ['deflate', createInflate],
  ['br', createBrotliDecompress],
]);

function charsetOf(contentType: string | undefined): string | undefined {
  return contentType === undefined ? undefined : /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1]?.toLowerCase();
}

export function readJsonBody(req: IncomingMessage, limit: number): Promise<JsonBody> {
  const length = req.headers['content-length'];
  // type-is's hasBody, which body-parser asks first.
  if (req.headers['transfer-encoding'] === undefined && (length === undefined || Number.isNaN(Number(length)))) return Promise.resolve({ ok: true, body: undefined });
  const charset = charsetOf(req.headers['content-type']);
  if (charset !== undefined && charset !== 'utf-8') return drained(req, { ok: false, status: 415, code: -32600, message: 'Unsupported charset: send the body as UTF-8 JSON' });
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  const decoder = encoding === 'identity' ? null : DECODERS.get(encoding);
  if (decoder === undefined) return drained(req, { ok: false, status: 415, code: -32600, message: 'Unsupported Content-Encoding: send the body as identity, gzip, deflate or br' });
  if (decoder === null && Number(length) > limit) return drained(req, TOO_LARGE);

  // The client left while the request waited (for authentication): its stream will never end or close again.
  if (req.destroyed) return Promise.resolve(GONE);
  const decoding = decoder ? req.pipe(decoder()) : null;
  const stream: Readable = decoding ?? req;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const detach = () => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      req.removeListener('close', onClose);
    };
    const finish = (result: JsonBody) => {
      detach();
      resolve(result);
    };
    // A decoder given up on may still fail on bytes it was handed; with no listener left that
    // 'error' would end the process, so it is unpiped, muted and destroyed.
    const dropDecoder = () => {
      if (!decoding) return;
      req.unpipe(decoding);
      decoding.on('error', () => {}).destroy();
    };
    const refuse = (result: JsonBody) => {
      detach();
      dropDecoder();
      void drained(req, result).then(resolve);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return refuse(TOO_LARGE);
      chunks.push(chunk);
    };
    const onEnd = () => finish(parse(Buffer.concat(chunks, size)));
    // A corrupt compressed body is a body that is not JSON.
    const onError = () => refuse(decoding ? PARSE_ERROR : GONE);
    const onClose = () => {
      if (req.complete) return;
      dropDecoder();
      finish(GONE);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    req.once('close', onClose);
  });
}

/** body-parser's strict JSON: an object or an array; an empty body is `{}` (a common client mistake). */
function parse(bytes: Buffer): JsonBody {
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a BOM, which body-parser's decoder drops too
  if (text.length === 0) return { ok: true, body: {} };
  const first = /^[ \t\n\r]*(.|$)/.exec(text)?.[1]; // after JSON's whitespace (RFC 8259 §2)
  if (first !== '{' && first !== '[') return PARSE_ERROR;
  try {
    return { ok: true, body: JSON.parse(text) as unknown };
  } catch {
    return PARSE_ERROR;
  }
}

/** Resolves with `result` once the rest of the request has been read off (or it went away). */
function drained(req: IncomingMessage, result: JsonBody): Promise<JsonBody> {
  if (req.complete || req.destroyed) return Promise.resolve(req.complete ? result : GONE);
  return new Promise((resolve) => {
    const done = () => {
      req.removeListener('end', done);
      req.removeListener('close', done);
      resolve(req.complete ? result : GONE);
    };
    req.once('end', done);
    req.once('close', done);
    req.resume();
  });
}
