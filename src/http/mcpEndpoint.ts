/**
 * `/mcp`: the Streamable HTTP endpoint, both protocol eras on one URL (src/README.md,
 * "Protocol eras"). The SDK's own classifier decides per request (`classifyInboundRequest`, the
 * step behind `isLegacyRequest` and `createMcpHandler`, fed the body jsonBody.ts parsed):
 *
 * - 2026-07-28 (a request whose `_meta` carries the protocol-version envelope): stateless; the
 *   SDK's `createMcpHandler` serves it from a fresh server instance and owns the revision's
 *   validation — `server/discover`, `_meta`, `Mcp-Method`/`Mcp-Name` header vs body, removed
 *   methods — answering each with the spec's code and the request's id.
 * - 2025-era (everything else): stateful mode (default): `initialize` opens a session bound to
 *   the caller's subject; later requests must carry its `Mcp-Session-Id` and the same subject,
 *   or they get 404. Stateless mode: a fresh server per POST, no session ids, and GET/DELETE
 *   answer 405.
 *
 * Before anything reaches the SDK, for both eras: JSON-RPC batches are refused (removed from the
 * protocol in 2025-06-18), the body is size-capped, and a `tools/call` for a tool the caller's
 * scopes do not allow is answered 403 `insufficient_scope` so the client can step up (MCP
 * authorization spec, "Scope Challenge Handling").
 *
 * Both eras are served by the SDK's web-standard handlers (`WebStandardStreamableHTTPServerTransport`,
 * `createMcpHandler`) given a headers-only web `Request` and the body jsonBody.ts parsed, and
 * their web `Response` is written straight to the socket (`sendWebResponse`). Neither SDK Node
 * adapter is used (src/README.md D43): `@modelcontextprotocol/node`'s transport builds a request
 * listener per request and converts both ways through `@hono/node-server`, and its
 * `toNodeHandler` serializes the parsed body again; its Express adapter would also replace
 * Deputy's own Origin/Host guard, caller verification (503 when keys cannot be loaded, 403 scope
 * challenge) and metadata with the SDK's. Every check in front of the SDK stays as it is.
 *
 * Served on plain `node:http`, never through Express (src/README.md D44): app.ts routes the
 * endpoint's path here after its Origin/Host guard and bearer authentication.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  classifyInboundRequest,
  createMcpHandler,
  isInitializeRequest,
  WebStandardStreamableHTTPServerTransport,
  type ProtocolEra,
  type Server,
} from '@modelcontextprotocol/server';
import { challenge, type Authenticated } from './bearerAuth.ts';
import { expectsContinue, readJsonBody } from './jsonBody.ts';
import { jsonRpcError, sendJson } from './respond.ts';
import type { SessionRegistry } from './sessions.ts';
import type { Caller } from '../tools/caller.ts';
import { missingScopes } from '../tools/policy.ts';

export interface McpEndpointOptions {
  /** The surface's name, which its sessions are bound to; undefined for the single `/mcp`. */
  surface?: string;
  /** How the 2025 era is served; the 2026-07-28 era is always stateless. */
  mode: 'stateful' | 'stateless';
  sessions: SessionRegistry;
  newServer: (era: ProtocolEra) => Server;
  /** The caller scopes a tool needs, or undefined for an unknown tool. */
  toolScopes: (name: string) => readonly string[] | undefined;
  onDenied: (tool: string, caller: Caller, sessionId: string | null) => void;
  resourceMetadataUrl: string;
  maxBodyBytes: number;
  /** The user a caller's sessions count for in the per-user session quota. */
  userOf: (caller: Caller) => string;
}

/** A header the client may have sent once; a repeated one is the list Node joined with ", ". */
function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * The web-standard view of a request whose body jsonBody.ts already parsed: headers only.
 * The SDK's modern handler takes the parsed body beside it, so the body is never serialized
 * again (the Node adapter's `toWebRequest` would).
 */
function headersOnlyRequest(req: IncomingMessage, signal: AbortSignal): globalThis.Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(':') || name === 'content-length' || name === 'transfer-encoding' || name === 'content-encoding') continue;
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else headers.set(name, value);
  }
  return new globalThis.Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, { method: req.method, headers, signal });
}

/** Aborted when the client goes away before its answer is complete: ends the SDK's stream and any tool call on it. */
function disconnectSignal(res: ServerResponse): AbortSignal {
  const disconnected = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) disconnected.abort();
  });
  return disconnected.signal;
}

/**
 * Writes a web-standard response to the socket in as few writes as it allows; on loopback and
 * behind a proxy each write is a syscall that also does the receiver's work, the largest part
 * of Deputy's CPU per call (bench/README.md, "The HTTP path"). A JSON answer goes out whole,
 * head and body in one write with its length. An SSE stream is written as the SDK enqueues it,
 * waiting for `drain` when the client reads slowly, but corked until the event loop turns:
 * a stream that ends at once (a call's answer) leaves in one write, head, event and end
 * together, while one that stays open (an approval's elicitation, the GET stream) is flushed
 * then. A client that goes away cancels the stream, which the SDK takes as the end of it.
 */
async function sendWebResponse(res: ServerResponse, response: globalThis.Response): Promise<void> {
  const head: Record<string, string> = {};
  for (const [name, value] of response.headers) head[name] = value;
  if (!response.body || !(head['content-type'] ?? '').startsWith('text/event-stream')) {
    const body = Buffer.from(await response.arrayBuffer());
    res.writeHead(response.status, { ...head, 'content-length': String(body.length) }).end(body);
    return;
  }
  res.writeHead(response.status, head);
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const gone = new Promise<void>((resolve) => res.once('close', resolve));
  void gone.then(() => reader.cancel().catch(() => {}));
  res.cork();
  let corked = true;
  const flush = () => {
    if (corked) res.uncork();
    corked = false;
  };
  const turn = setImmediate(flush);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!res.write(value)) {
        flush();
        await Promise.race([new Promise((resolve) => res.once('drain', resolve)), gone]);
      }
    }
  } catch {
    // The stream failed or was cancelled: end the answer as it stands.
  }
  clearImmediate(turn);
  res.end();
  flush();
}

/** A 2025-era request through its session's (or a one-off) transport. */
async function serveTransport(transport: WebStandardStreamableHTTPServerTransport, req: IncomingMessage, res: ServerResponse, who: Authenticated, body?: unknown): Promise<void> {
  const response = await transport.handleRequest(headersOnlyRequest(req, disconnectSignal(res)), {
    authInfo: who.auth,
    ...(body !== undefined ? { parsedBody: body } : {}),
  });
  await sendWebResponse(res, response);
}

/** The request's own id, echoed in an error about it (JSON-RPC 2.0 §5); null only when it has none. */
function idOf(body: object): string | number | null {
  const id = (body as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/**
 * A `tools/call` whose params are not `{ name: string, arguments?: object }`: the SDK's request
 * parsing would answer it -32603 "Internal error" with its schema issues as the message; this is
 * malformed params (JSON-RPC -32602), answered as such before the SDK sees it. Also refused: an
 * own `__proto__` key in the arguments, which the SDK's parsing turns into the arguments object's
 * prototype (or drops) instead of the unknown key the tool's strict schema would refuse.
 */
function malformedToolCall(body: object): { id: string | number } | null {
  const message = body as { method?: unknown; id?: unknown; params?: unknown };
  if (message.method !== 'tools/call' || (typeof message.id !== 'string' && typeof message.id !== 'number')) return null;
  const params = message.params as { name?: unknown; arguments?: unknown } | null | undefined;
  const isObject = (value: unknown): value is object => value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!isObject(params) || typeof params.name !== 'string') return { id: message.id };
  if (params.arguments === undefined) return null;
  return isObject(params.arguments) && !Object.hasOwn(params.arguments, '__proto__') ? null : { id: message.id };
}
/**
 * Whether an initialize declares elicitation. Only then can Deputy send anything on a call's
 * response stream besides its answer (an approval's elicitation request and its completion
 * notice, src/server/mcpServerFactory.ts); every other session is answered with one JSON body
 * per request instead of an SSE stream, which costs less per call (src/README.md D43).
 */
function declaresElicitation(body: object): boolean {
  const capabilities = (body as { params?: { capabilities?: { elicitation?: unknown } } }).params?.capabilities;
  return capabilities?.elicitation !== undefined && capabilities.elicitation !== null;
}

/**
 * The id of a request (not a notification, nor a client's answer to a server request), keyed so
 * that 1 and "1" differ (JSON-RPC 2.0 §4: an id is a string or a number).
 */
function requestKey(body: object): string | null {
  const message = body as { method?: unknown; id?: unknown };
  if (typeof message.method !== 'string') return null;
  return typeof message.id === 'string' || typeof message.id === 'number' ? `${typeof message.id}:${message.id}` : null;
}

const MALFORMED_TOOL_CALL = 'Invalid params: tools/call takes params.name (a string) and params.arguments (an object without a __proto__ key, if given)';

/**
 * Serves one request to the endpoint's path, already past the Origin/Host guard and authenticated
 * (app.ts); its body must have arrived by `bodyDeadline` (`performance.now()`'s clock, src/README.md D48).
 */
export type McpEndpoint = (req: IncomingMessage, res: ServerResponse, who: Authenticated, bodyDeadline: number) => Promise<void>;

export function mcpEndpoint(options: McpEndpointOptions): McpEndpoint {
  const { sessions } = options;
  // The request ids in flight on each 2025-era session. The SDK's transport routes an answer by
  // its id alone: a second request reusing an id in flight took the first one's route, and the
  // first never got an answer and stayed open until its client gave up. The reuse is refused
  // instead (src/README.md D52).
  const inFlight = new WeakMap<WebStandardStreamableHTTPServerTransport, Set<string>>();
  // 2025-era traffic never reaches this handler (routed below), so it rejects rather than serves it.
  const modern = createMcpHandler(() => options.newServer('modern'), { legacy: 'reject', maxRequestBodySize: options.maxBodyBytes });
  const serveModern = async (res: ServerResponse, webRequest: globalThis.Request, who: Authenticated, body: unknown) => {
    const response = await modern.fetch(webRequest, { parsedBody: body, authInfo: who.auth });
    await sendWebResponse(res, response);
  };

  async function post(req: IncomingMessage, res: ServerResponse, who: Authenticated, bodyDeadline: number): Promise<void> {
    const read = await readJsonBody(req, { maxBytes: options.maxBodyBytes, deadline: bodyDeadline }, () => {
      if (expectsContinue(req)) res.writeContinue();
    });
    if (!read.ok) {
      if (read.status !== null) jsonRpcError(res, read.status, read.code, read.message);
      return;
    }
    const { body } = read;
    if (Array.isArray(body)) return jsonRpcError(res, 400, -32600, 'JSON-RPC batches are not supported; send one message per request');
    if (body === null || typeof body !== 'object') return jsonRpcError(res, 400, -32600, 'Expected one JSON-RPC message');
    const { caller } = who;

    const message = body as { method?: unknown; params?: { name?: unknown } };
    if (message.method === 'tools/call' && typeof message.params?.name === 'string') {
      const needed = options.toolScopes(message.params.name);
      const missing = needed ? missingScopes({ name: message.params.name, callerScopes: needed }, caller) : [];
      if (needed && missing.length > 0) {
        // Audit against a session only if it is really this caller's (the header is client text).
        const claimed = header(req, 'mcp-session-id');
        const sessionId = options.mode === 'stateful' && claimed ? (sessions.find(claimed, caller, options.surface)?.id ?? null) : null;
        options.onDenied(message.params.name, caller, sessionId);
        const description = `This tool needs the scope ${missing.join(' ')}`;
        const scope = [...new Set([...caller.scopes, ...needed])].join(' ');
        sendJson(res, 403, { error: 'insufficient_scope', error_description: description }, { 'www-authenticate': challenge(options.resourceMetadataUrl, { error: 'insufficient_scope', scope, error_description: description }) });
        return;
      }
    }

    const malformed = malformedToolCall(body);
    // What `isLegacyRequest` computes for a POST with a parsed JSON body, without building a web
    // Request for every 2025-era call (~0.1 ms each).
    const era = classifyInboundRequest({
      httpMethod: 'POST',
      protocolVersionHeader: header(req, 'mcp-protocol-version'),
      mcpMethodHeader: header(req, 'mcp-method'),
      mcpNameHeader: header(req, 'mcp-name'),
      body,
    });
    if (era.kind !== 'legacy') {
      if (malformed) return jsonRpcError(res, 200, -32602, MALFORMED_TOOL_CALL, malformed.id);
      return serveModern(res, headersOnlyRequest(req, disconnectSignal(res)), who, body);
    }
    if (options.mode === 'stateless') {
      if (malformed) return jsonRpcError(res, 200, -32602, MALFORMED_TOOL_CALL, malformed.id);
      return serveStateless(req, res, who, body);
    }

    const sessionId = header(req, 'mcp-session-id');
    if (sessionId) {
      const session = sessions.find(sessionId, caller, options.surface);
      if (!session) return jsonRpcError(res, 404, -32001, 'Session not found; initialize a new session', idOf(body));
      if (malformed) return jsonRpcError(res, 200, -32602, MALFORMED_TOOL_CALL, malformed.id);
      const key = requestKey(body);
      if (key !== null) {
        const ids = inFlight.get(session.transport) ?? new Set<string>();
        inFlight.set(session.transport, ids);
        if (ids.has(key)) {
          return jsonRpcError(res, 400, -32600, 'A request with this id is already in flight on this session; give each request its own id', idOf(body));
        }
        ids.add(key);
        res.once('close', () => ids.delete(key));
      }
      return serveTransport(session.transport, req, res, who, body);
    }
    if (!isInitializeRequest(body)) {
      return jsonRpcError(res, 400, -32000, 'No session: send initialize first, or include Mcp-Session-Id (or use protocol revision 2026-07-28, which needs no session)', idOf(body));
    }
    // The user's own quota first: a user at it is told so (429), even when the server is full too.
    const user = options.userOf(caller);
    const quota = sessions.userQuota(user);
    if (quota) {
      return jsonRpcError(
        res,
        429,
        -32000,
        `Quota reached (open sessions): this user already has ${quota.limit} open sessions. Reuse one, close one (DELETE /mcp with its Mcp-Session-Id), or retry after ${quota.retryAfterSeconds} s, when an idle one expires`,
        idOf(body),
        { 'retry-after': String(quota.retryAfterSeconds) },
      );
    }
    if (!sessions.hasRoom()) return jsonRpcError(res, 503, -32000, 'Too many open sessions; try again later', idOf(body));
    const release = sessions.hold(user);

    const server = options.newServer('legacy');
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      enableJsonResponse: !declaresElicitation(body),
      sessionIdGenerator: () => sessions.newId(),
      onsessioninitialized: (id) => sessions.add({ id, subject: caller.subject, tenant: caller.tenant, user, transport, server, lastSeenAt: Date.now(), ...(options.surface !== undefined ? { surface: options.surface } : {}) }),
      onsessionclosed: (id) => sessions.forget(id),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.forget(transport.sessionId);
    };
    try {
      await server.connect(transport);
      await serveTransport(transport, req, res, who, body);
    } finally {
      release(); // the session, if any, now counts itself
      if (!transport.sessionId) await server.close(); // initialize was refused or failed; nothing to keep
    }
  }

  async function serveStateless(req: IncomingMessage, res: ServerResponse, who: Authenticated, body: unknown): Promise<void> {
    const server = options.newServer('legacy');
    // No elicitation in stateless mode (src/README.md, "Configuration", DEPUTY_MODE): one JSON body per answer.
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await serveTransport(transport, req, res, who, body);
  }

  async function sessionRequest(req: IncomingMessage, res: ServerResponse, who: Authenticated): Promise<void> {
    if (options.mode === 'stateless') return jsonRpcError(res, 405, -32000, 'Method not allowed in stateless mode', null, { allow: 'POST' });
    const sessionId = header(req, 'mcp-session-id');
    if (!sessionId) return jsonRpcError(res, 400, -32000, 'Mcp-Session-Id header is required');
    const session = sessions.find(sessionId, who.caller, options.surface);
    if (!session) return jsonRpcError(res, 404, -32001, 'Session not found; initialize a new session');
    await serveTransport(session.transport, req, res, who);
  }

  // The methods of the Streamable HTTP transport; any other is answered 405 naming them (RFC 9110 §15.5.6).
  const allow = options.mode === 'stateless' ? 'POST' : 'GET, POST, DELETE';
  return (req, res, who, bodyDeadline) => {
    if (req.method === 'POST') return post(req, res, who, bodyDeadline);
    if (req.method === 'GET' || req.method === 'DELETE') return sessionRequest(req, res, who);
    jsonRpcError(res, 405, -32000, `Method not allowed; this endpoint takes ${allow}`, null, { allow });
    return Promise.resolve();
  };
}
