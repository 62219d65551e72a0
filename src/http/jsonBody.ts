/**
 * Reads an MCP request's body as JSON without Express (src/README.md D44), with the answers the
 * `express.json({ type: () => true })` it replaced gave, and bounded in bytes and time (D48):
 *
 * - no body at all (neither Content-Length nor Transfer-Encoding) → `undefined`; an empty one → `{}`
 * - a declared Content-Length over `maxBytes` → 413 with no byte read; more than `maxBytes` bytes
 *   read off the wire, or (gzip, deflate, br) decompressed from them → 413 at once
 * - the body not complete by `deadline` → 408
 * - not a JSON object or array, or not JSON at all → 400 parse error (strict, as body-parser's)
 *
 * A refusal is resolved as soon as it is known: the rest of the body is not read (nor decompressed,
 * nor kept). The answer is respond.ts's, which closes a connection whose request was not read to
 * its end. Unlike body-parser, a charset other than UTF-8 (RFC 8259 §8.1: JSON between systems is
 * UTF-8) or an unknown Content-Encoding is answered 415, not 500.
 */
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable, Transform } from 'node:stream';

export type JsonBody =
  | { ok: true; body: unknown }
  /** A refusal to answer as a JSON-RPC error; `status` null when the client went away and nothing can be answered. */
  | { ok: false; status: number | null; code: number; message: string };

export interface BodyLimits {
  /** The cap on the bytes received and, for a compressed body, on the bytes it decompresses to. */
  maxBytes: number;
  /** When the whole body must have arrived, on `performance.now()`'s clock. */
  deadline: number;
}

const TOO_LARGE = { ok: false, status: 413, code: -32600, message: 'Request body too large' } as const;
const TOO_SLOW = { ok: false, status: 408, code: -32600, message: 'Request body not received in time; send the whole request at once' } as const;
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

/** Whether the client waits for `100 Continue` before it sends the body (RFC 9110 §10.1.1). */
export function expectsContinue(req: IncomingMessage): boolean {
  return /(?:^|\W)100-continue(?:$|\W)/i.test(req.headers.expect ?? '');
}

/**
 * `askForBody` is called once the head has passed every check, right before the body is read:
 * it answers an `Expect: 100-continue`, so a body refused on its head alone is never sent.
 */
export function readJsonBody(req: IncomingMessage, { maxBytes, deadline }: BodyLimits, askForBody: () => void = () => {}): Promise<JsonBody> {
  const length = req.headers['content-length'];
  // type-is's hasBody, which body-parser asks first.
  if (req.headers['transfer-encoding'] === undefined && (length === undefined || Number.isNaN(Number(length)))) return Promise.resolve({ ok: true, body: undefined });
  const charset = charsetOf(req.headers['content-type']);
  if (charset !== undefined && charset !== 'utf-8') return Promise.resolve({ ok: false, status: 415, code: -32600, message: 'Unsupported charset: send the body as UTF-8 JSON' });
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  const decoder = encoding === 'identity' ? null : DECODERS.get(encoding);
  if (decoder === undefined) return Promise.resolve({ ok: false, status: 415, code: -32600, message: 'Unsupported Content-Encoding: send the body as identity, gzip, deflate or br' });
  // The compressed bytes have the same cap as the JSON (D48), so a declared length over it is refused unread.
  if (Number(length) > maxBytes) return Promise.resolve(TOO_LARGE);

  // The client left while the request waited (for authentication): its stream will never end or close again.
  if (req.destroyed) return Promise.resolve(GONE);
  askForBody();
  const decoding = decoder ? req.pipe(decoder()) : null;
  const stream: Readable = decoding ?? req;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let received = 0;
    const detach = () => {
      clearTimeout(timer);
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      req.removeListener('data', onWire);
      req.removeListener('close', onClose);
    };
    const finish = (result: JsonBody) => {
      detach();
      resolve(result);
    };
    // A decoder given up on may still fail on bytes it was handed; with no listener left that
    // 'error' would end the process, so it is unpiped, muted and destroyed, and nothing more is
    // decompressed.
    const dropDecoder = () => {
      if (!decoding) return;
      req.unpipe(decoding);
      decoding.on('error', () => {}).destroy();
    };
    const refuse = (result: JsonBody) => {
      dropDecoder();
      finish(result);
    };
    // The bytes on the wire, counted apart from what they decompress to: a stream that inflates
    // to nothing (empty deflate blocks) is still refused once it has sent `maxBytes`.
    const onWire = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) refuse(TOO_LARGE);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return refuse(TOO_LARGE);
      chunks.push(chunk);
    };
    const onEnd = () => finish(parse(Buffer.concat(chunks, size)));
    // A corrupt compressed body is a body that is not JSON.
    const onError = () => refuse(decoding ? PARSE_ERROR : GONE);
    const onClose = () => {
      if (req.complete) return;
      refuse(GONE);
    };
    // A body already all here is not timed: what is left is decompression and parsing, both capped.
    const timer = req.complete ? undefined : setTimeout(() => refuse(TOO_SLOW), Math.max(0, deadline - performance.now()));
    if (decoding) req.on('data', onWire);
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
